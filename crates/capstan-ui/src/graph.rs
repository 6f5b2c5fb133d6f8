//! A graph layout of the resource tree, as Argo CD draws it: the Application on the left, its
//! managed resources in the next column, their children (ReplicaSets, Pods, ...) further right,
//! an edge from each owner to what it owns. Leaves take one row each, an owner sits in the middle of
//! its children. With `group=kind`, sibling leaves of one kind become one node (Argo CD's "group
//! nodes"), which keeps large applications readable. Pure: positions in pixels, drawn as SVG by
//! `pages::tree_views`.

use crate::tree::{Group, Tree};

/// Horizontal distance between columns.
pub const COLUMN_WIDTH: u32 = 280;
/// Width of a node's box.
pub const NODE_WIDTH: u32 = 236;
/// Vertical distance between rows.
pub const ROW_HEIGHT: u32 = 52;
/// Height of a node's box.
pub const NODE_HEIGHT: u32 = 42;
/// Space around the drawing.
pub const MARGIN: u32 = 8;

/// What a node of the graph stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphItem {
    /// The Application itself (the left-most node).
    Application,
    /// One resource ([`Tree::nodes`] index).
    Node(usize),
    /// Sibling leaves of one kind, collapsed (`group=kind`).
    Group {
        /// Their kind.
        kind: String,
        /// Their indices in [`Tree::nodes`].
        nodes: Vec<usize>,
    },
}

/// A placed node: the top-left corner of its box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// What it is.
    pub item: GraphItem,
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
}

/// The laid-out graph.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    /// Nodes; the first is the Application.
    pub nodes: Vec<Placed>,
    /// Edges from owner to owned, as indices in `nodes`.
    pub edges: Vec<(usize, usize)>,
    /// Width of the drawing.
    pub width: u32,
    /// Height of the drawing.
    pub height: u32,
}

struct Slot {
    item: GraphItem,
    depth: u32,
    children: Vec<usize>,
    row: f64,
}

/// Lays out the nodes that `keep` marks (see [`Tree::visible`]); `group` collapses sibling leaves
/// of one kind when it is [`Group::Kind`].
pub fn layout(tree: &Tree, keep: &[bool], group: Group) -> Graph {
    let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
    let mut slots = vec![Slot {
        item: GraphItem::Application,
        depth: 0,
        children: Vec::new(),
        row: 0.0,
    }];
    let mut seen = vec![false; tree.nodes.len()];
    let mut stack = vec![0usize];
    while let Some(si) = stack.pop() {
        let owned: &[usize] = match &slots[si].item {
            GraphItem::Application => &tree.roots,
            GraphItem::Node(i) => &tree.nodes[*i].children,
            GraphItem::Group { .. } => &[],
        };
        let mut children: Vec<usize> = Vec::new();
        for &c in owned {
            if kept(c) && !seen[c] {
                seen[c] = true;
                children.push(c);
            }
        }
        let is_leaf = |c: usize| !tree.nodes[c].children.iter().any(|x| kept(*x));
        let mut items: Vec<GraphItem> = Vec::new();
        if group == Group::Kind {
            // leaves of one kind that has at least two of them among these siblings: one node
            let mut leaves_by_kind: std::collections::BTreeMap<&str, Vec<usize>> =
                std::collections::BTreeMap::new();
            for &c in &children {
                if is_leaf(c) {
                    leaves_by_kind
                        .entry(tree.nodes[c].id.kind.as_str())
                        .or_default()
                        .push(c);
                }
            }
            let mut placed_kinds: Vec<&str> = Vec::new();
            for &c in &children {
                let kind = tree.nodes[c].id.kind.as_str();
                match leaves_by_kind.get(kind) {
                    Some(group) if group.len() > 1 && is_leaf(c) => {
                        if !placed_kinds.contains(&kind) {
                            placed_kinds.push(kind);
                            items.push(GraphItem::Group {
                                kind: kind.to_string(),
                                nodes: group.clone(),
                            });
                        }
                    }
                    _ => items.push(GraphItem::Node(c)),
                }
            }
        } else {
            items.extend(children.into_iter().map(GraphItem::Node));
        }
        let depth = slots[si].depth + 1;
        for item in items {
            let idx = slots.len();
            slots.push(Slot {
                item,
                depth,
                children: Vec::new(),
                row: 0.0,
            });
            slots[si].children.push(idx);
        }
        for c in slots[si].children.iter().rev() {
            stack.push(*c);
        }
    }
    // rows: leaves one after another (in order), each owner in the middle of its children
    let mut next_row = 0.0f64;
    let mut order = vec![(0usize, false)];
    while let Some((i, expanded)) = order.pop() {
        if slots[i].children.is_empty() {
            slots[i].row = next_row;
            next_row += 1.0;
            continue;
        }
        if expanded {
            let first = slots[slots[i].children[0]].row;
            let last = slots[*slots[i].children.last().unwrap_or(&0)].row;
            slots[i].row = (first + last) / 2.0;
            continue;
        }
        order.push((i, true));
        for c in slots[i].children.iter().rev() {
            order.push((*c, false));
        }
    }
    let max_depth = slots.iter().map(|s| s.depth).max().unwrap_or(0);
    let rows = next_row.max(1.0);
    let mut graph = Graph {
        width: 2 * MARGIN + max_depth * COLUMN_WIDTH + NODE_WIDTH,
        height: 2 * MARGIN + ((rows - 1.0) * ROW_HEIGHT as f64) as u32 + NODE_HEIGHT,
        ..Graph::default()
    };
    for (i, slot) in slots.iter().enumerate() {
        for c in &slot.children {
            graph.edges.push((i, *c));
        }
    }
    graph.nodes = slots
        .into_iter()
        .map(|s| Placed {
            item: s.item,
            x: MARGIN + s.depth * COLUMN_WIDTH,
            y: MARGIN + (s.row * ROW_HEIGHT as f64).round() as u32,
        })
        .collect();
    graph
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{TreeFilter, build};
    use serde_json::json;

    fn tree() -> Tree {
        build(
            &json!({"nodes": [
                {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web", "uid": "d"},
                {"group": "apps", "kind": "ReplicaSet", "namespace": "d", "name": "web-1", "uid": "r", "parentRefs": [{"uid": "d"}]},
                {"kind": "Pod", "namespace": "d", "name": "web-1-a", "uid": "p1", "parentRefs": [{"uid": "r"}]},
                {"kind": "Pod", "namespace": "d", "name": "web-1-b", "uid": "p2", "parentRefs": [{"uid": "r"}]},
                {"kind": "Service", "namespace": "d", "name": "web", "uid": "s"}
            ]}),
            &json!([]),
        )
    }

    fn kinds(t: &Tree, g: &Graph) -> Vec<String> {
        g.nodes
            .iter()
            .map(|p| match &p.item {
                GraphItem::Application => "App".to_string(),
                GraphItem::Node(i) => t.nodes[*i].id.kind.clone(),
                GraphItem::Group { kind, nodes } => format!("{}x{kind}", nodes.len()),
            })
            .collect()
    }

    #[test]
    fn owners_point_to_what_they_own_column_by_column() {
        let t = tree();
        let keep = t.visible(&TreeFilter::default());
        let g = layout(&t, &keep, Group::None);
        assert_eq!(
            kinds(&t, &g),
            ["App", "Deployment", "Service", "ReplicaSet", "Pod", "Pod"]
        );
        // App -> Deployment, App -> Service, Deployment -> ReplicaSet, ReplicaSet -> both Pods
        assert_eq!(g.edges, [(0, 1), (0, 2), (1, 3), (3, 4), (3, 5)]);
        let x: Vec<u32> = g.nodes.iter().map(|n| n.x).collect();
        assert_eq!(
            x,
            [
                MARGIN,
                MARGIN + COLUMN_WIDTH,
                MARGIN + COLUMN_WIDTH,
                MARGIN + 2 * COLUMN_WIDTH,
                MARGIN + 3 * COLUMN_WIDTH,
                MARGIN + 3 * COLUMN_WIDTH
            ]
        );
        // the two Pods take rows 0 and 1, the Service row 2; the ReplicaSet sits between its Pods
        assert_eq!(g.nodes[4].y, MARGIN);
        assert_eq!(g.nodes[5].y, MARGIN + ROW_HEIGHT);
        assert_eq!(g.nodes[2].y, MARGIN + 2 * ROW_HEIGHT);
        assert_eq!(g.nodes[3].y, MARGIN + ROW_HEIGHT / 2);
        assert_eq!(g.height, 2 * MARGIN + 2 * ROW_HEIGHT + NODE_HEIGHT);
        assert_eq!(g.width, 2 * MARGIN + 3 * COLUMN_WIDTH + NODE_WIDTH);
    }

    #[test]
    fn grouping_by_kind_collapses_sibling_leaves() {
        let t = tree();
        let keep = t.visible(&TreeFilter::default());
        let g = layout(&t, &keep, Group::Kind);
        assert_eq!(
            kinds(&t, &g),
            ["App", "Deployment", "Service", "ReplicaSet", "2xPod"]
        );
        // a filter hides what does not match but keeps the path to what does
        let keep = t.visible(&TreeFilter::parse("q=web-1-b"));
        let g = layout(&t, &keep, Group::Kind);
        assert_eq!(kinds(&t, &g), ["App", "Deployment", "ReplicaSet", "Pod"]);
    }

    #[test]
    fn an_empty_tree_is_the_application_alone() {
        let t = Tree::default();
        let g = layout(&t, &[], Group::None);
        assert_eq!(g.nodes.len(), 1);
        assert!(g.edges.is_empty());
        assert_eq!(g.height, 2 * MARGIN + NODE_HEIGHT);
    }
}
