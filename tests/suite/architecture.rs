//! The shape of the source tree, checked: no circle of imports between
//! source files of `service/`, `store/`, and `ledger/` with `token/`
//! (docs/decisions/0013), and no source file over the size the house style
//! allows. An import is a `crate::…` or `super::…` path that names another
//! file's module; a module naming its own descendants (declarations and
//! re-exports) is not an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines of code (before a file's unit tests) a source file may have.
const FILE_LINES_MAX: usize = 650;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `service/engine/batch.rs` →
/// [service, engine, batch]; `mod.rs`, `lib.rs` and `main.rs` name their
/// folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file before its unit tests.
fn code_of(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text)
}

/// Every path a file names that starts at `crate::`, `super::` or `self::`,
/// resolved to an absolute module path (use groups expanded one level).
fn named_paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let here: Vec<String> = module.to_vec();
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = ["crate::", "super::", "self::"]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min()
    {
        let (index, prefix) = at;
        let boundary = rest[..index]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let after = &rest[index..];
        rest = &rest[index + prefix.len()..];
        if !boundary {
            continue;
        }
        let mut base: Vec<String> = match prefix {
            "crate::" => Vec::new(),
            "self::" => here.clone(),
            _ => here[..here.len().saturating_sub(1)].to_vec(),
        };
        let mut tail = &after[prefix.len()..];
        while let Some(next) = tail.strip_prefix("super::") {
            base.pop();
            tail = next;
        }
        let segment: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut path = base.clone();
        path.extend(
            segment
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        paths.push(path.clone());
        let remainder = &tail[segment.len()..];
        if let Some(group) = remainder.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let item = item.trim().split(" as ").next().unwrap_or("").trim();
                if item.is_empty() || item == "self" {
                    continue;
                }
                let mut full = path.clone();
                full.extend(item.split("::").map(str::to_string));
                paths.push(full);
            }
        }
    }
    paths
}

/// Edges between files: module → the longest module prefix of each path it
/// names (leaving out its own descendants).
fn import_graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    source_files(src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(src, f), f.clone()))
        .collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("read");
        let mut targets = BTreeSet::new();
        for path in named_paths(module, code_of(&text)) {
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| modules.contains_key(prefix));
            if let Some(target) = target
                && target != *module
                && !target.starts_with(module)
            {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// A circle among `within` (modules whose path starts with one of the
/// prefixes), if any: the modules on it.
fn find_circle(
    graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    within: &[&[&str]],
) -> Option<Vec<String>> {
    let inside = |m: &Vec<String>| {
        within.iter().any(|prefix| {
            prefix.iter().zip(m.iter()).all(|(a, b)| a == b) && m.len() >= prefix.len()
        })
    };
    // Depth-first search with colours.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour: BTreeMap<&Vec<String>, Colour> = graph
        .keys()
        .filter(|m| inside(m))
        .map(|m| (m, Colour::White))
        .collect();
    fn visit<'a>(
        node: &'a Vec<String>,
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        colour: &mut BTreeMap<&'a Vec<String>, Colour>,
        stack: &mut Vec<&'a Vec<String>>,
    ) -> Option<Vec<String>> {
        colour.insert(node, Colour::Grey);
        stack.push(node);
        for next in &graph[node] {
            match colour.get(next) {
                Some(Colour::White) => {
                    if let Some(circle) = visit(next, graph, colour, stack) {
                        return Some(circle);
                    }
                }
                Some(Colour::Grey) => {
                    let from = stack.iter().position(|m| *m == next).unwrap_or(0);
                    return Some(stack[from..].iter().map(|m| m.join("/")).collect());
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(node, Colour::Black);
        None
    }
    let nodes: Vec<&Vec<String>> = colour.keys().copied().collect();
    for node in nodes {
        if colour[node] == Colour::White {
            let mut stack = Vec::new();
            if let Some(circle) = visit(node, graph, &mut colour, &mut stack) {
                return Some(circle);
            }
        }
    }
    None
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_circle_of_imports_between_source_files() {
    let graph = import_graph(&src());
    for within in [
        &[&["service"][..]][..],
        &[&["store"][..]][..],
        &[&["ledger"][..], &["token"][..]][..],
        // And none anywhere else either.
        &[&[][..]][..],
    ] {
        assert_eq!(
            find_circle(&graph, within),
            None,
            "an import circle in {within:?}"
        );
    }
}

#[test]
fn the_circle_check_finds_a_circle() {
    // Two files naming each other, as `service/` did before issue 18.
    let mut graph = BTreeMap::new();
    let a = vec!["service".to_string(), "writer".to_string()];
    let b = vec!["service".to_string(), "error".to_string()];
    graph.insert(a.clone(), BTreeSet::from([b.clone()]));
    graph.insert(b.clone(), BTreeSet::from([a.clone()]));
    assert!(find_circle(&graph, &[&["service"]]).is_some());
    let paths = named_paths(&b, "use super::writer::{CommandError, Receipt};");
    let named = |item: &str| {
        vec![
            "service".to_string(),
            "writer".to_string(),
            item.to_string(),
        ]
    };
    assert_eq!(paths, vec![a, named("CommandError"), named("Receipt")]);
}

#[test]
fn no_source_file_is_over_the_size_limit() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let mut over: Vec<(usize, String)> = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).expect("read");
            let lines = code_of(&text).lines().count();
            (lines, file.display().to_string())
        })
        .filter(|(lines, file)| *lines > FILE_LINES_MAX && !file.ends_with("tests.rs"))
        .collect();
    over.sort();
    assert!(
        over.is_empty(),
        "files over {FILE_LINES_MAX} lines of code: {over:?}"
    );
}

#[test]
fn http_cli_and_web_write_only_through_service_functions() {
    // Issue 18: handlers and commands call a use case; none builds a ledger
    // command itself (the clap subcommand enums are named `*Action`).
    let mut files = Vec::new();
    for dir in ["http", "cli", "web"] {
        source_files(&src().join(dir), &mut files);
    }
    let builders: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).expect("read");
            code_of(&text).contains("Command::") || code_of(&text).contains("Submission {")
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        builders.is_empty(),
        "build ledger commands themselves: {builders:?}"
    );
}
