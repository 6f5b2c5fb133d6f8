//! The resource tree of an application: the nodes of the resource-tree endpoint (managed resources
//! and their children, linked by `parentRefs` from ownerReferences), with the sync status of managed
//! resources from the Application's status, and managed resources that do not exist yet as roots.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

fn s(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A resource's identity as URLs carry it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ResourceRef {
    /// API group (empty for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty when cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceRef {
    /// The query string that names this resource (`group=&kind=&namespace=&name=`).
    pub fn to_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("group", &self.group)
            .append_pair("kind", &self.kind)
            .append_pair("namespace", &self.namespace)
            .append_pair("name", &self.name)
            .finish()
    }

    /// Reads `group`, `kind`, `namespace` and `name` from a query string; `None` without kind or name.
    pub fn from_query(query: &str) -> Option<ResourceRef> {
        let mut r = ResourceRef::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "group" => r.group = v.into_owned(),
                "kind" => r.kind = v.into_owned(),
                "namespace" => r.namespace = v.into_owned(),
                "name" => r.name = v.into_owned(),
                _ => {}
            }
        }
        (!r.kind.is_empty() && !r.name.is_empty()).then_some(r)
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// Identity.
    pub id: ResourceRef,
    /// Health status (empty when not assessed).
    pub health: String,
    /// Health message.
    pub health_message: String,
    /// Sync status of a managed resource (empty for children).
    pub sync: String,
    /// Whether the application manages it directly (not a child).
    pub managed: bool,
    /// Indices of children in [`Tree::nodes`].
    pub children: Vec<usize>,
    /// External URLs of the resource (`networkingInfo.externalURLs`), as given: pages make links
    /// only of http(s) ones.
    pub links: Vec<String>,
}

/// The whole tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    /// Every node.
    pub nodes: Vec<TreeNode>,
    /// Top-level nodes, by kind and name.
    pub roots: Vec<usize>,
}

/// How the resources are grouped (`group=kind|parent|health`), as Argo CD's tree options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Group {
    /// No grouping: the tree by ownerReferences, or one flat list.
    #[default]
    None,
    /// One section per kind (in the graph: sibling leaves of one kind become one node).
    Kind,
    /// One section per owner (the Application for managed resources).
    Parent,
    /// One section per health status.
    Health,
}

impl Group {
    /// The value in the URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::None => "",
            Group::Kind => "kind",
            Group::Parent => "parent",
            Group::Health => "health",
        }
    }
}

/// Filters of the tree in the URL (`kind=&health=&sync=&q=&view=list|tree|graph&group=`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeFilter {
    /// Kinds (any of).
    pub kinds: Vec<String>,
    /// Health statuses (any of).
    pub health: Vec<String>,
    /// Sync statuses (any of).
    pub sync: Vec<String>,
    /// Name contains (case-insensitive).
    pub text: String,
    /// A flat list instead of the tree (`view=list`).
    pub list: bool,
    /// The tree asked for explicitly (`view=tree`), even for a very large application.
    pub tree: bool,
    /// The graph (`view=graph`): nodes and edges drawn as SVG.
    pub graph: bool,
    /// Grouping.
    pub group: Group,
}

impl TreeFilter {
    /// Reads a query string.
    pub fn parse(query: &str) -> TreeFilter {
        let mut f = TreeFilter::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let values = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>();
            match k.as_ref() {
                "kind" => f.kinds.extend(values),
                "health" => f.health.extend(values),
                "sync" => f.sync.extend(values),
                "q" => f.text = v.trim().to_string(),
                "view" => {
                    f.list = v == "list";
                    f.tree = v == "tree";
                    f.graph = v == "graph";
                }
                "group" => {
                    f.group = match v.as_ref() {
                        "kind" => Group::Kind,
                        "parent" => Group::Parent,
                        "health" => Group::Health,
                        _ => Group::None,
                    }
                }
                _ => {}
            }
        }
        f
    }

    /// Whether any filter is set.
    pub fn is_filtered(&self) -> bool {
        !(self.kinds.is_empty()
            && self.health.is_empty()
            && self.sync.is_empty()
            && self.text.is_empty())
    }

    /// Whether a node passes.
    pub fn matches(&self, node: &TreeNode) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.kinds, &node.id.kind)
            && any(&self.health, &node.health)
            && any(&self.sync, &node.sync)
            && (self.text.is_empty()
                || node
                    .id
                    .name
                    .to_lowercase()
                    .contains(&self.text.to_lowercase()))
    }
}

/// Builds the tree from the resource-tree JSON (`{"nodes": [...]}`) and the Application's
/// `status.resources`.
pub fn build(resource_tree: &Value, status_resources: &Value) -> Tree {
    let mut nodes: Vec<TreeNode> = Vec::new();
    let mut by_uid: HashMap<String, usize> = HashMap::new();
    let mut by_ref: HashMap<ResourceRef, usize> = HashMap::new();
    let mut parents: Vec<Vec<String>> = Vec::new();
    let sync_of: BTreeMap<ResourceRef, (String, String, String)> = status_resources
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                ResourceRef {
                    group: s(r, "/group"),
                    kind: s(r, "/kind"),
                    namespace: s(r, "/namespace"),
                    name: s(r, "/name"),
                },
                (
                    s(r, "/status"),
                    s(r, "/health/status"),
                    s(r, "/health/message"),
                ),
            )
        })
        .collect();
    for n in resource_tree
        .pointer("/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = ResourceRef {
            group: s(n, "/group"),
            kind: s(n, "/kind"),
            namespace: s(n, "/namespace"),
            name: s(n, "/name"),
        };
        if by_ref.contains_key(&id) {
            continue;
        }
        let managed = sync_of.get(&id);
        let node = TreeNode {
            health: s(n, "/health/status"),
            health_message: s(n, "/health/message"),
            sync: managed.map(|m| m.0.clone()).unwrap_or_default(),
            managed: managed.is_some(),
            id: id.clone(),
            children: Vec::new(),
            links: n
                .pointer("/networkingInfo/externalURLs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
        };
        let uid = s(n, "/uid");
        if !uid.is_empty() {
            by_uid.insert(uid, nodes.len());
        }
        by_ref.insert(id, nodes.len());
        parents.push(
            n.pointer("/parentRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| s(p, "/uid"))
                .filter(|u| !u.is_empty())
                .collect(),
        );
        nodes.push(node);
    }
    // managed resources that are not live (missing, or not yet created)
    for (id, (sync, health, message)) in &sync_of {
        if by_ref.contains_key(id) {
            continue;
        }
        by_ref.insert(id.clone(), nodes.len());
        parents.push(Vec::new());
        nodes.push(TreeNode {
            id: id.clone(),
            health: if health.is_empty() {
                "Missing".to_string()
            } else {
                health.clone()
            },
            health_message: message.clone(),
            sync: sync.clone(),
            managed: true,
            children: Vec::new(),
            links: Vec::new(),
        });
    }
    let mut roots = Vec::new();
    for (i, ps) in parents.iter().enumerate() {
        // the first parent that is in the tree (and not the node itself) adopts it
        match ps.iter().filter_map(|u| by_uid.get(u)).find(|p| **p != i) {
            Some(p) => nodes[*p].children.push(i),
            None => roots.push(i),
        }
    }
    // a cycle of ownerReferences leaves nodes no root reaches: make them roots
    let mut reached: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = roots.clone();
    while let Some(i) = stack.pop() {
        if reached.insert(i) {
            stack.extend(nodes[i].children.iter().copied());
        }
    }
    for i in 0..nodes.len() {
        if !reached.contains(&i) {
            roots.push(i);
            let mut stack = vec![i];
            while let Some(j) = stack.pop() {
                if reached.insert(j) {
                    stack.extend(nodes[j].children.iter().copied());
                }
            }
        }
    }
    let key = |i: &usize| (nodes[*i].id.kind.clone(), nodes[*i].id.name.clone());
    roots.sort_by_key(key);
    let mut sorted_children: Vec<Vec<usize>> = nodes.iter().map(|n| n.children.clone()).collect();
    for c in &mut sorted_children {
        c.sort_by_key(key);
    }
    for (n, c) in nodes.iter_mut().zip(sorted_children) {
        n.children = c;
    }
    Tree { nodes, roots }
}

impl Tree {
    /// Nodes that pass the filter, or have a descendant that does (so the path to a match shows).
    pub fn visible(&self, filter: &TreeFilter) -> Vec<bool> {
        let mut keep = vec![false; self.nodes.len()];
        if !filter.is_filtered() {
            return vec![true; self.nodes.len()];
        }
        // post-order over an explicit stack; each node once
        let mut done = vec![false; self.nodes.len()];
        for &root in &self.roots {
            let mut stack = vec![(root, false)];
            while let Some((i, expanded)) = stack.pop() {
                if expanded {
                    keep[i] = filter.matches(&self.nodes[i])
                        || self.nodes[i].children.iter().any(|c| keep[*c]);
                    continue;
                }
                if done[i] {
                    continue;
                }
                done[i] = true;
                stack.push((i, true));
                for c in &self.nodes[i].children {
                    stack.push((*c, false));
                }
            }
        }
        keep
    }

    /// The parent of each node in the tree (`None` for roots).
    pub fn parents(&self) -> Vec<Option<usize>> {
        let mut parents = vec![None; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for c in &n.children {
                parents[*c] = Some(i);
            }
        }
        parents
    }

    /// The nodes that pass the filter, in sections by `group` (label, node indices), sections and
    /// nodes sorted; `Group::None` gives one unnamed section.
    pub fn grouped(&self, filter: &TreeFilter) -> Vec<(String, Vec<usize>)> {
        let parents = self.parents();
        let mut sections: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if !filter.matches(n) {
                continue;
            }
            let key = match filter.group {
                Group::None => String::new(),
                Group::Kind => n.id.kind.clone(),
                Group::Health if n.health.is_empty() => "No health".to_string(),
                Group::Health => n.health.clone(),
                Group::Parent => match parents[i] {
                    Some(p) => format!("{}/{}", self.nodes[p].id.kind, self.nodes[p].id.name),
                    None => "Application".to_string(),
                },
            };
            sections.entry(key).or_default().push(i);
        }
        let key = |i: &usize| {
            (
                self.nodes[*i].id.kind.clone(),
                self.nodes[*i].id.name.clone(),
            )
        };
        let mut out: Vec<(String, Vec<usize>)> = sections.into_iter().collect();
        for (_, nodes) in &mut out {
            nodes.sort_by_key(key);
        }
        // the Application's own resources first when grouping by parent
        out.sort_by_key(|(label, _)| (label != "Application", label.clone()));
        out
    }

    /// Counts of nodes by kind, for the filter menu.
    pub fn kinds(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for n in &self.nodes {
            *out.entry(n.id.kind.clone()).or_default() += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> (Value, Value) {
        let tree = json!({"nodes": [
            {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web", "uid": "u1",
             "health": {"status": "Healthy"}},
            {"group": "apps", "kind": "ReplicaSet", "namespace": "d", "name": "web-1", "uid": "u2",
             "parentRefs": [{"uid": "u1"}], "health": {"status": "Healthy"}},
            {"group": "", "kind": "Pod", "namespace": "d", "name": "web-1-a", "uid": "u3",
             "parentRefs": [{"uid": "u2"}], "health": {"status": "Progressing"}},
            {"group": "", "kind": "Service", "namespace": "d", "name": "web", "uid": "u4"}
        ]});
        let status = json!([
            {"group": "apps", "kind": "Deployment", "namespace": "d", "name": "web", "status": "Synced"},
            {"group": "", "kind": "Service", "namespace": "d", "name": "web", "status": "OutOfSync"},
            {"group": "", "kind": "ConfigMap", "namespace": "d", "name": "cfg", "status": "OutOfSync",
             "health": {"status": "Missing"}}
        ]);
        (tree, status)
    }

    #[test]
    fn children_hang_under_their_owners() {
        let (tree, status) = sample();
        let t = build(&tree, &status);
        let roots: Vec<&str> = t
            .roots
            .iter()
            .map(|i| t.nodes[*i].id.kind.as_str())
            .collect();
        assert_eq!(roots, ["ConfigMap", "Deployment", "Service"]);
        let dep = &t.nodes[t.roots[1]];
        assert_eq!(dep.sync, "Synced");
        let rs = &t.nodes[dep.children[0]];
        assert_eq!(rs.id.kind, "ReplicaSet");
        assert!(!rs.managed);
        assert_eq!(t.nodes[rs.children[0]].id.name, "web-1-a");
        let cm = &t.nodes[t.roots[0]];
        assert_eq!(
            (cm.health.as_str(), cm.sync.as_str()),
            ("Missing", "OutOfSync")
        );
    }

    #[test]
    fn filter_keeps_the_path_to_a_match() {
        let (tree, status) = sample();
        let t = build(&tree, &status);
        let keep = t.visible(&TreeFilter::parse("health=Progressing"));
        let kept: Vec<&str> = t
            .nodes
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(n, _)| n.id.name.as_str())
            .collect();
        assert_eq!(kept, ["web", "web-1", "web-1-a"]);
        assert_eq!(t.kinds().get("Pod"), Some(&1));
    }

    #[test]
    fn owner_cycles_do_not_hide_or_hang() {
        let tree = json!({"nodes": [
            {"kind": "A", "name": "a", "uid": "1", "parentRefs": [{"uid": "2"}]},
            {"kind": "B", "name": "b", "uid": "2", "parentRefs": [{"uid": "1"}]},
            {"kind": "C", "name": "c", "uid": "3", "parentRefs": [{"uid": "3"}]}
        ]});
        let t = build(&tree, &json!([]));
        assert_eq!(t.roots.len(), 2);
        let keep = t.visible(&TreeFilter::parse("q=b"));
        assert_eq!(keep.iter().filter(|k| **k).count(), 2);
    }

    #[test]
    fn resource_refs_round_trip() {
        let r = ResourceRef {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: "a b".into(),
            name: "x&y".into(),
        };
        assert_eq!(ResourceRef::from_query(&r.to_query()), Some(r));
        assert_eq!(ResourceRef::from_query("kind=Pod"), None);
    }
}
