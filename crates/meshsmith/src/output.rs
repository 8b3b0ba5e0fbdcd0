//! Writes a generated file tree into an output folder atomically, without overwriting what
//! a person edited.
//!
//! In: the folder and `(relative path, contents)` pairs from `generate::layout`. Out: a
//! [`WriteReport`] of what was written, what was already identical, and what was kept.
//! Every file is first written in a staging folder beside the output folder (same file
//! system), then renamed into place: a failure while staging leaves the output untouched,
//! and a new output folder appears in one rename. An existing file is replaced only if it
//! still carries its meshsmith header with a matching content hash (a stale generation);
//! a file whose body no longer matches its hash, or that has no header, is kept unless
//! `force` is set.

use anyhow::{bail, Context};
use meshsmith_core::generate::layout::edited;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// What happened to each file, paths relative to the output folder, sorted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    /// Edited by a person (or not written by meshsmith) and left as they were.
    pub kept: Vec<PathBuf>,
}

/// Writes `files` under `dir`. See the module documentation for the rules.
pub fn write_tree(
    dir: &Path,
    files: &[(PathBuf, String)],
    force: bool,
) -> anyhow::Result<WriteReport> {
    let mut report = WriteReport::default();
    let mut to_write: Vec<&(PathBuf, String)> = Vec::new();
    for file in files {
        let (rel, contents) = file;
        check_relative(rel)?;
        let target = dir.join(rel);
        match fs::read(&target) {
            Ok(existing) => {
                if existing == contents.as_bytes() {
                    report.unchanged.push(rel.clone());
                    continue;
                }
                let stale = std::str::from_utf8(&existing).ok().and_then(edited) == Some(false);
                if stale || force {
                    to_write.push(file);
                } else {
                    report.kept.push(rel.clone());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => to_write.push(file),
            Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
        }
    }
    if to_write.is_empty() {
        return Ok(report);
    }
    let staging = staging_dir(dir)?;
    let result = stage_and_move(dir, &staging, &to_write);
    // The staging folder goes whatever happened; a failure to remove it is not the user's problem.
    let _ = fs::remove_dir_all(&staging);
    result?;
    report.written = to_write.iter().map(|(p, _)| p.clone()).collect();
    Ok(report)
}

fn stage_and_move(dir: &Path, staging: &Path, files: &[&(PathBuf, String)]) -> anyhow::Result<()> {
    let tree = staging.join("tree");
    for (rel, contents) in files {
        let path = tree.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    if !dir.exists() {
        // A new output folder appears whole or not at all.
        return fs::rename(&tree, dir)
            .with_context(|| format!("moving the output into {}", dir.display()));
    }
    for (rel, _) in files {
        let target = dir.join(rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::rename(tree.join(rel), &target)
            .with_context(|| format!("replacing {}", target.display()))?;
    }
    Ok(())
}

/// A fresh folder next to `dir`, so that renames stay on one file system.
fn staging_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    for attempt in 0..100u32 {
        let candidate = parent.join(format!(
            ".{base}.meshsmith-{}-{attempt}",
            std::process::id()
        ));
        match fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", candidate.display())),
        }
    }
    bail!("could not create a staging folder in {}", parent.display())
}

/// Paths come from names in the input; none may climb out of the output folder.
fn check_relative(rel: &Path) -> anyhow::Result<()> {
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!(
            "refusing to write outside the output folder: {}",
            rel.display()
        );
    }
    Ok(())
}

/// Prints `text` on standard output. A reader that went away (`meshsmith map | head`) is
/// not an error: the rest of the output is simply not wanted.
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshsmith_core::generate::layout::{layout, Header};
    use meshsmith_core::model::MeshConfig;

    fn files(body: &str) -> Vec<(PathBuf, String)> {
        let header = Header {
            version: "test".into(),
            inputs: vec!["in.yaml".into()],
        };
        // A real header from the layout, over a body of our choosing.
        let mut f = layout(&MeshConfig::default(), &header);
        let hash = meshsmith_core::generate::layout::hash(body);
        f.push((PathBuf::from("ns/svc/sidecar.yaml"), format!("# Generated by meshsmith test from in.yaml; do not edit by hand. sha256:{hash}\n{body}")));
        f.push((PathBuf::from("ns/kustomization.yaml"), format!("# Generated by meshsmith test from in.yaml; do not edit by hand. sha256:{}\nresources: []\n", meshsmith_core::generate::layout::hash("resources: []\n"))));
        f
    }

    #[test]
    fn a_new_folder_is_written_whole_and_a_rerun_changes_nothing() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let first = write_tree(&out, &files("a: 1\n"), false).expect("written");
        assert_eq!(first.written.len(), 2);
        let before = fs::read(out.join("ns/svc/sidecar.yaml")).expect("file");
        let again = write_tree(&out, &files("a: 1\n"), false).expect("rerun");
        assert_eq!((again.written.len(), again.unchanged.len()), (0, 2));
        assert_eq!(
            fs::read(out.join("ns/svc/sidecar.yaml")).expect("file"),
            before
        );
        // No staging folder is left behind.
        let names: Vec<_> = fs::read_dir(tmp.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn a_stale_generated_file_is_replaced() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        write_tree(&out, &files("a: 1\n"), false).expect("written");
        let r = write_tree(&out, &files("a: 2\n"), false).expect("rewritten");
        assert_eq!(r.written, vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert!(fs::read_to_string(out.join("ns/svc/sidecar.yaml"))
            .expect("file")
            .ends_with("a: 2\n"));
    }

    #[test]
    fn an_edited_file_survives_unless_forced() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        write_tree(&out, &files("a: 1\n"), false).expect("written");
        let path = out.join("ns/svc/sidecar.yaml");
        let edited = fs::read_to_string(&path)
            .expect("file")
            .replace("a: 1", "a: 99");
        fs::write(&path, &edited).expect("edit");
        let r = write_tree(&out, &files("a: 2\n"), false).expect("rerun");
        assert_eq!(r.kept, vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert_eq!(fs::read_to_string(&path).expect("file"), edited);
        let forced = write_tree(&out, &files("a: 2\n"), true).expect("forced");
        assert_eq!(forced.written, vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert!(fs::read_to_string(&path).expect("file").ends_with("a: 2\n"));
    }

    #[test]
    fn a_file_without_a_header_is_not_ours_to_replace() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        fs::create_dir_all(out.join("ns/svc")).expect("dirs");
        fs::write(out.join("ns/svc/sidecar.yaml"), "hand: written\n").expect("write");
        let r = write_tree(&out, &files("a: 1\n"), false).expect("run");
        assert_eq!(r.kept, vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert_eq!(r.written, vec![PathBuf::from("ns/kustomization.yaml")]);
    }

    #[test]
    fn paths_cannot_escape_and_a_refusal_writes_nothing() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let mut f = files("a: 1\n");
        f.push((PathBuf::from("../escape.yaml"), "x".into()));
        assert!(write_tree(&out, &f, false).is_err());
        assert!(!out.exists());
        assert!(!tmp.path().join("escape.yaml").exists());
    }

    #[test]
    fn a_failure_while_staging_leaves_the_output_as_it_was() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        write_tree(&out, &files("a: 1\n"), false).expect("written");
        let before = fs::read_to_string(out.join("ns/svc/sidecar.yaml")).expect("file");
        // A file and a folder at the same path cannot both be staged.
        let mut f = files("a: 2\n");
        f.push((PathBuf::from("new/a.yaml"), "x".into()));
        f.push((PathBuf::from("new/a.yaml/b.yaml"), "x".into()));
        assert!(write_tree(&out, &f, false).is_err());
        assert_eq!(
            fs::read_to_string(out.join("ns/svc/sidecar.yaml")).expect("file"),
            before
        );
        assert!(!out.join("new").exists());
        // And a new folder is not created at all.
        let fresh = tmp.path().join("fresh");
        assert!(write_tree(&fresh, &f, false).is_err());
        assert!(!fresh.exists());
        assert_eq!(fs::read_dir(tmp.path()).expect("list").count(), 1);
    }
}
