//! Recursive-descent parser of the expression language.

use super::lexer::Token;
use super::{BinOp, ExprError, Node, UnOp};

pub(crate) struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    end: usize,
}

impl Parser {
    pub(crate) fn new(tokens: Vec<(usize, Token)>, end: usize) -> Parser {
        Parser {
            tokens,
            pos: 0,
            end,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(q)) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(q)) if q == w)
    }

    fn is_word_at(&self, at: usize, w: &str) -> bool {
        matches!(self.tokens.get(at), Some((_, Token::Ident(q))) if q == w)
    }

    fn expect(&mut self, p: &str) -> Result<(), ExprError> {
        if self.is_punct(p) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ExprError::syntax(self.offset(), &format!("expected `{p}`")))
        }
    }

    pub(crate) fn parse_all(&mut self) -> Result<Node, ExprError> {
        let node = self.ternary()?;
        if self.pos < self.tokens.len() {
            return Err(ExprError::syntax(self.offset(), "unexpected token"));
        }
        Ok(node)
    }

    fn ternary(&mut self) -> Result<Node, ExprError> {
        let cond = self.coalesce()?;
        if self.is_punct("?") {
            self.pos += 1;
            let then = self.ternary()?;
            self.expect(":")?;
            let otherwise = self.ternary()?;
            return Ok(Node::Cond(
                Box::new(cond),
                Box::new(then),
                Box::new(otherwise),
            ));
        }
        Ok(cond)
    }

    fn coalesce(&mut self) -> Result<Node, ExprError> {
        let mut left = self.or()?;
        while self.is_punct("??") {
            self.pos += 1;
            let right = self.or()?;
            left = Node::Binary(BinOp::Coalesce, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        let mut left = self.and()?;
        while self.is_word("or") || self.is_punct("||") {
            self.pos += 1;
            let right = self.and()?;
            left = Node::Binary(BinOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut left = self.comparison()?;
        while self.is_word("and") || self.is_punct("&&") {
            self.pos += 1;
            let right = self.comparison()?;
            left = Node::Binary(BinOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Node, ExprError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek() {
                Some(Token::Punct("==")) => BinOp::Eq,
                Some(Token::Punct("!=")) => BinOp::Ne,
                Some(Token::Punct("<")) => BinOp::Lt,
                Some(Token::Punct("<=")) => BinOp::Le,
                Some(Token::Punct(">")) => BinOp::Gt,
                Some(Token::Punct(">=")) => BinOp::Ge,
                Some(Token::Ident(w)) if w == "in" => BinOp::In,
                Some(Token::Ident(w)) if w == "matches" => BinOp::Matches,
                Some(Token::Ident(w)) if w == "contains" => BinOp::Contains,
                Some(Token::Ident(w)) if w == "startsWith" => BinOp::StartsWith,
                Some(Token::Ident(w)) if w == "endsWith" => BinOp::EndsWith,
                Some(Token::Ident(w)) if w == "not" && self.is_word_at(self.pos + 1, "in") => {
                    self.pos += 1;
                    BinOp::NotIn
                }
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.additive()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn additive(&mut self) -> Result<Node, ExprError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.is_punct("+") {
                BinOp::Add
            } else if self.is_punct("-") {
                BinOp::Sub
            } else {
                return Ok(left);
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Node, ExprError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.is_punct("*") {
                BinOp::Mul
            } else if self.is_punct("/") {
                BinOp::Div
            } else if self.is_punct("%") {
                BinOp::Mod
            } else {
                return Ok(left);
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.is_word("not") || self.is_punct("!") {
            self.pos += 1;
            return Ok(Node::Unary(UnOp::Not, Box::new(self.unary()?)));
        }
        if self.is_punct("-") {
            self.pos += 1;
            return Ok(Node::Unary(UnOp::Neg, Box::new(self.unary()?)));
        }
        if self.is_punct("+") {
            self.pos += 1;
            return self.unary();
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            if self.is_punct(".") || self.is_punct("?.") {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Token::Ident(name)) => {
                        self.pos += 1;
                        node = Node::Member(Box::new(node), name);
                    }
                    _ => return Err(ExprError::syntax(self.offset(), "expected a field name")),
                }
            } else if self.is_punct("[") {
                self.pos += 1;
                let index = self.ternary()?;
                self.expect("]")?;
                node = Node::Index(Box::new(node), Box::new(index));
            } else if self.is_punct("(") {
                self.pos += 1;
                let args = self.list_until(")")?;
                node = Node::Call(Box::new(node), args);
            } else {
                return Ok(node);
            }
        }
    }

    fn list_until(&mut self, close: &str) -> Result<Vec<Node>, ExprError> {
        let mut items = Vec::new();
        if self.is_punct(close) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.ternary()?);
            if self.is_punct(",") {
                self.pos += 1;
                if self.is_punct(close) {
                    self.pos += 1;
                    return Ok(items);
                }
                continue;
            }
            self.expect(close)?;
            return Ok(items);
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let offset = self.offset();
        let Some(token) = self.peek().cloned() else {
            return Err(ExprError::syntax(offset, "unexpected end of expression"));
        };
        self.pos += 1;
        match token {
            Token::Int(n) => Ok(Node::Int(n)),
            Token::Float(f) => Ok(Node::Float(f)),
            Token::Str(s) => Ok(Node::Str(s)),
            Token::Ident(name) => Ok(match name.as_str() {
                "nil" => Node::Nil,
                "true" => Node::Bool(true),
                "false" => Node::Bool(false),
                _ => Node::Ident(name),
            }),
            Token::Punct("(") => {
                let inner = self.ternary()?;
                self.expect(")")?;
                Ok(inner)
            }
            Token::Punct("[") => Ok(Node::Array(self.list_until("]")?)),
            Token::Punct(p) => Err(ExprError::syntax(offset, &format!("unexpected `{p}`"))),
        }
    }
}
