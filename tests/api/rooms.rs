//! The shape of the code (issue 16): no import circle between the crate's top-level modules
//! (rooms and the kernel files), and order placement written as short named steps.
//!
//! Read from the source files, not compiled: a module "uses" another when its code (comments
//! left out) names `crate::other`, or `other` inside `use crate::{…}`. `lib.rs` and `main.rs`
//! wire everything together and are left out, as is `crate::AppState` (the state every handler
//! receives, defined in `lib.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments and doc comments; the code base has
/// no block comments).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") { "" } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module → (module it uses → first place it does), over the top-level modules of `src`.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |path: &Path| -> Option<String> {
        let first = path.strip_prefix(&src).ok()?.components().next()?;
        let name = first.as_os_str().to_str()?;
        match name {
            "lib.rs" | "main.rs" => None,
            _ => Some(name.trim_end_matches(".rs").to_string()),
        }
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|p| module_of(p)).collect();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for path in &files {
        let Some(from) = module_of(path) else {
            continue;
        };
        let code = code_of(&std::fs::read_to_string(path).unwrap());
        for (n, line) in code.lines().enumerate() {
            let mut named: Vec<&str> = line
                .split("crate::")
                .skip(1)
                .filter_map(|rest| {
                    rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                })
                .collect();
            if let Some(group) = line.split("use crate::{").nth(1) {
                named.extend(group.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')));
            }
            for to in named {
                if to != from && modules.contains(to) {
                    let at = format!("{}:{}", path.strip_prefix(&src).unwrap().display(), n + 1);
                    graph
                        .entry(from.clone())
                        .or_default()
                        .entry(to.to_string())
                        .or_insert(at);
                }
            }
        }
    }
    graph
}

/// Strongly connected groups of more than one module (Tarjan).
fn circles(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flat_map(|m| m.keys()) {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    group.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let graph = module_graph();
    let found = circles(&graph);
    let report: Vec<String> = found
        .iter()
        .map(|group| {
            let uses: Vec<String> = group
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|(b, _)| group.contains(b))
                        .map(move |(b, at)| format!("{a} → {b} ({at})"))
                })
                .collect();
            format!("{}: {}", group.join(", "), uses.join("; "))
        })
        .collect();
    assert!(report.is_empty(), "import circles:\n{}", report.join("\n"));
    // The graph is real: the market's rooms call down into capacity, and nothing below calls up.
    assert!(graph["orders"].contains_key("capacity"));
    assert!(graph["preorder"].contains_key("capacity"));
    assert!(
        !graph
            .get("capacity")
            .is_some_and(|m| m.contains_key("preorder"))
    );
}

#[test]
fn placing_an_order_reads_as_short_steps() {
    let limit = 60;
    for file in [
        "src/orders/place.rs",
        "src/orders/gathered.rs",
        "src/capacity/gather.rs",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut long = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "pub async fn ",
                "async fn ",
            ]
            .iter()
            .any(|p| line.starts_with(p));
            if !is_fn || line.ends_with(';') {
                i += 1;
                continue;
            }
            // The body ends at the first line back at the signature's indentation with `}`.
            let indent = lines[i].len() - line.len();
            let close = format!("{}}}", " ".repeat(indent));
            let end = (i + 1..lines.len())
                .find(|&j| lines[j] == close)
                .unwrap_or(lines.len() - 1);
            if end - i + 1 > limit {
                long.push(format!("{file}:{} {} lines", i + 1, end - i + 1));
            }
            i += 1;
        }
        assert!(long.is_empty(), "functions over {limit} lines: {long:?}");
    }
}
