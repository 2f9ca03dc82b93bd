//! A test of the crate's shape: no circle of imports among sibling modules, at any level.
//!
//! Every file's `crate::`, `super::` and `self::` paths (outside comments and its test module)
//! are resolved to the module they name. A file that names a module outside its own subtree makes
//! an edge between the two siblings under their common parent (`app/appconfig.rs` naming
//! `crate::restore` is `app -> restore` at the root); a child naming its parent, or a parent its
//! child, is structure, not an edge. Each parent's children must form no circle: then each
//! module can be read knowing only those below it, and a change moves up, never around.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module file of `src/` (not `main.rs`, not `tests.rs` files) by module path, with its
/// text up to its test module.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            match module.last().map(String::as_str) {
                Some("main" | "tests")
                    if module.len() == 1 || module.ends_with(&["tests".into()]) =>
                {
                    continue
                }
                Some("lib") if module.len() == 1 => module.clear(),
                Some("mod") => {
                    module.pop();
                }
                _ => {}
            }
            let text = std::fs::read_to_string(&path).unwrap();
            found.insert(module, without_tests_and_comments(&text));
        }
    }
    found
}

/// The text before a `#[cfg(test)]` module, line comments removed.
fn without_tests_and_comments(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map(|l| l.trim_start()).unwrap_or("");
        if line.trim() == "#[cfg(test)]"
            && (next.starts_with("mod ") || next.starts_with("pub(crate) mod "))
        {
            break;
        }
        let code = match line.find("//") {
            // A `//` inside a string ("https://...") is rare in paths' lines; cutting there
            // loses nothing the graph needs.
            Some(at) => &line[..at],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The module paths `text` names: `crate::a::b`, `super::super::c`, `self::d`, with `{...}` groups.
fn named_paths(module: &Module, text: &str) -> Vec<Module> {
    let bytes = text.as_bytes();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Only at the start of a path: not inside an identifier (`my_crate::`).
        let at_boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let base: Option<(Module, usize)> = if !at_boundary {
            None
        } else if bytes[i..].starts_with(b"crate::") {
            Some((Vec::new(), i + 7))
        } else if bytes[i..].starts_with(b"self::") {
            // In `a.rs` or `a/mod.rs`, `self` is the module itself.
            Some((module.clone(), i + 6))
        } else if bytes[i..].starts_with(b"super::") {
            // `super` of a file module is its parent.
            let mut base = module.clone();
            let mut j = i;
            while bytes[j..].starts_with(b"super::") {
                base.pop();
                j += 7;
            }
            Some((base, j))
        } else {
            None
        };
        match base {
            Some((base, start)) => {
                let end = read_tree(text, start, &base, &mut paths);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    paths
}

/// Reads `a::b::{c, d::e}` from `start`, pushing each full path; returns where it ended.
fn read_tree(text: &str, start: usize, base: &Module, out: &mut Vec<Module>) -> usize {
    let bytes = text.as_bytes();
    let mut path = base.clone();
    let mut i = start;
    loop {
        let ident_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > ident_start {
            path.push(text[ident_start..i].to_owned());
        }
        if bytes[i..].starts_with(b"::{") {
            i += 3;
            loop {
                while i < bytes.len() && (bytes[i] as char).is_whitespace() {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    return i + 1;
                }
                i = read_tree(text, i, &path, out);
                while i < bytes.len() && ((bytes[i] as char).is_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
            }
        }
        if bytes[i..].starts_with(b"::") {
            i += 2;
            continue;
        }
        out.push(path);
        return i;
    }
}

/// The longest prefix of `path` that is a module.
fn resolve<'a>(path: &[String], known: &'a BTreeMap<Module, String>) -> Option<&'a Module> {
    (0..=path.len())
        .rev()
        .find_map(|n| known.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Edges between siblings, by parent: parent -> (from child, to child) -> an example file.
fn sibling_edges(
    known: &BTreeMap<Module, String>,
) -> BTreeMap<Module, BTreeMap<(String, String), Module>> {
    let mut edges: BTreeMap<Module, BTreeMap<(String, String), Module>> = BTreeMap::new();
    for (module, text) in known {
        for path in named_paths(module, text) {
            let Some(target) = resolve(&path, known) else {
                continue;
            };
            let common = module
                .iter()
                .zip(target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue; // an ancestor, a descendant, or itself
            }
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .entry((module[common].clone(), target[common].clone()))
                .or_insert_with(|| module.clone());
        }
    }
    edges
}

/// A circle among `edges`, as the list of its nodes, if there is one.
fn circle(edges: &BTreeMap<(String, String), Module>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().insert(to);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut found: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node);
        for to in next.get(node).into_iter().flatten() {
            if let Some(found) = visit(to, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for node in next.keys() {
        if let Some(found) = visit(node, &next, &mut Vec::new(), &mut done) {
            return Some(found);
        }
    }
    None
}

#[test]
fn no_circle_of_imports_among_siblings() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    assert!(
        known.len() > 50,
        "found {} modules under {}",
        known.len(),
        src.display()
    );
    let mut circles = Vec::new();
    for (parent, edges) in sibling_edges(&known) {
        if let Some(found) = circle(&edges) {
            let files: Vec<String> = found
                .windows(2)
                .map(|w| {
                    let file = &edges[&(w[0].clone(), w[1].clone())];
                    format!("{} -> {} ({})", w[0], w[1], file.join("/"))
                })
                .collect();
            circles.push(format!(
                "under crate::{}: {}",
                parent.join("::"),
                files.join(", ")
            ));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reader_finds_paths_groups_and_parents() {
    let module: Module = vec!["server".into(), "give_way".into()];
    let text = "use crate::app::{App, restore::Restores};\nuse super::super::config::Config;\nlet x = self::inner::f();";
    let found = named_paths(&module, text);
    let as_text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        as_text,
        [
            "app::App",
            "app::restore::Restores",
            "config::Config",
            "server::give_way::inner::f"
        ]
    );
    // A circle is found and a line is not.
    let mut edges = BTreeMap::new();
    edges.insert(("a".to_owned(), "b".to_owned()), vec![]);
    edges.insert(("b".to_owned(), "c".to_owned()), vec![]);
    assert_eq!(circle(&edges), None);
    edges.insert(("c".to_owned(), "a".to_owned()), vec![]);
    assert_eq!(circle(&edges).map(|c| c.len()), Some(4));
}
