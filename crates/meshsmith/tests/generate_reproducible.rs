//! `meshsmith generate` gives the same configuration for the same manifests wherever they
//! are read from: another folder, another working directory, standard input. No generated
//! object names a local path, a file or a line: those belong in `explain`.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn example() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/shopfront")
        .display()
        .to_string()
}

fn meshsmith(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("meshsmith").expect("binary builds");
    // Run where no meshsmith.yaml is lying around, so the defaults apply.
    cmd.current_dir(dir);
    cmd
}

/// Every file under `dir`, relative to it, with its bytes, sorted.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).expect("read dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").to_path_buf();
                files.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// Copies the example's manifests into `to`, and returns them concatenated as one stream.
fn copy_example(to: &Path) -> String {
    let from = PathBuf::from(example());
    let mut stream = String::new();
    for (rel, bytes) in tree(&from) {
        let is_manifest = rel.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let target = to.join(&rel);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(&target, &bytes).expect("copy");
        if is_manifest {
            stream.push_str("---\n");
            stream.push_str(&String::from_utf8(bytes).expect("utf-8"));
            if !stream.ends_with('\n') {
                stream.push('\n');
            }
        }
    }
    stream
}

#[test]
fn the_same_manifests_give_the_same_configuration_from_anywhere() {
    let (here, there) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let copy = there.path().join("elsewhere/my-shop");
    let stream = copy_example(&copy);
    let printed = |dir: &Path, args: &[&str], stdin: Option<&str>| {
        let mut cmd = meshsmith(dir);
        cmd.args(args);
        if let Some(text) = stdin {
            cmd.write_stdin(text.to_string());
        }
        let out = cmd.output().expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let input = example();
    let from_folder = printed(here.path(), &["generate", "--stdout", &input], None);
    let from_copy = printed(
        there.path(),
        &["generate", "--stdout", "elsewhere/my-shop"],
        None,
    );
    let from_stdin = printed(here.path(), &["generate", "-", "--stdout"], Some(&stream));
    assert!(from_folder.contains("kind: PeerAuthentication"));
    assert_eq!(
        from_folder, from_copy,
        "another folder, another working directory"
    );
    assert_eq!(from_folder, from_stdin, "standard input");
    // The written trees too, headers included.
    let (a, b) = (here.path().join("out"), there.path().join("out"));
    printed(here.path(), &["generate", "-o", "out", &input], None);
    printed(
        there.path(),
        &["generate", "-o", "out", "elsewhere/my-shop"],
        None,
    );
    let (tree_a, tree_b) = (tree(&a), tree(&b));
    assert!(tree_a.len() > 100);
    assert_eq!(tree_a, tree_b);
    let copy_path = copy.display().to_string();
    for (name, text) in tree_a
        .iter()
        .map(|(p, bytes)| {
            (
                p.display().to_string(),
                String::from_utf8_lossy(bytes).to_string(),
            )
        })
        .chain([("stdout".to_string(), from_stdin.clone())])
    {
        for place in [
            input.as_str(),
            copy_path.as_str(),
            "examples/shopfront",
            "my-shop",
            "<stdin>",
        ] {
            assert!(!text.contains(place), "{name} names {place}");
        }
        assert!(
            !text.contains(".yaml:") && !text.contains(".yml:"),
            "{name} holds a file:line reference"
        );
    }
}
