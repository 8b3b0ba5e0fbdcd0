//! Writes a generated file tree into an output folder atomically, without overwriting what
//! a person edited.
//!
//! In: the folder and `(relative path, contents)` pairs from `generate::layout`. Out: a
//! [`WriteReport`] of what was written, what was already identical, and what was kept.
//! Every file is first staged, then put in place as [`commit`] describes: a failure or an
//! interruption leaves the old tree, the new one, or a state the next run finishes and
//! reports. A generated file the new tree no longer has is reported, and removed only when
//! asked (`--prune`). An existing file is replaced only if it
//! still carries its meshsmith header with a matching content hash (a stale generation);
//! a file whose body no longer matches its hash, or that has no header, is kept unless
//! `force` is set. [`kept_files`] tells beforehand which files that is, with their text, so
//! what is built from them (the rollout's step folders) can follow a person's edit.

mod commit;
mod tree;

pub use tree::TreeWriter;

use anyhow::{bail, Context};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Whether a generated file's body no longer matches the hash in its header (`None`: it
/// has none): the YAML and JSON files, and the HTML report, whose header is a comment.
pub(crate) fn edited(contents: &str) -> Option<bool> {
    let (at, recorded) = header_hash(contents)?;
    Some(recorded != meshsmith_core::generate::layout::hash(&contents[at..]))
}

/// Where the body of a generated file starts and the hash its header records (see
/// [`edited`]).
fn header_hash(head: &str) -> Option<(usize, &str)> {
    meshsmith_core::generate::layout::header_hash(head)
        .or_else(|| crate::render::html::header_hash(head))
}

/// What happened to each file, paths relative to the output folder, sorted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    pub written: Vec<Arc<Path>>,
    pub unchanged: Vec<Arc<Path>>,
    /// Edited by a person (or not written by meshsmith) and left as they were.
    pub kept: Vec<Arc<Path>>,
    /// Generated earlier and no longer: removed with `prune`, else left and listed.
    pub stale: Vec<PathBuf>,
    /// Whether `stale` was removed.
    pub pruned: bool,
    /// What was done about a write an earlier run was interrupted in.
    pub repaired: Option<String>,
}

/// How a [`TreeWriter`] treats what is already there.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Overwrite files a person edited.
    pub force: bool,
    /// Remove generated files the new tree no longer has.
    pub prune: bool,
}

/// What writing one file does to what is there.
enum Outcome {
    Unchanged,
    Write,
    /// Edited by a person (or not written by meshsmith): what is there stays.
    Keep,
}

/// What writing `contents` to `dir/rel` does to the file there. The file is compared and
/// hashed as it is read, a piece at a time: a plan of tens of megabytes written again is
/// never held twice.
fn outcome(dir: &Path, rel: &Path, contents: &str, force: bool) -> anyhow::Result<Outcome> {
    check_relative(rel)?;
    let target = dir.join(rel);
    let reading = || format!("reading {}", target.display());
    let mut file = match fs::File::open(&target) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Outcome::Write),
        Err(e) => return Err(e).with_context(reading),
    };
    if holds(&mut file, contents.as_bytes()).with_context(reading)? {
        return Ok(Outcome::Unchanged);
    }
    if force {
        return Ok(Outcome::Write);
    }
    let stale = generated_as_is(file).with_context(reading)?;
    Ok(if stale { Outcome::Write } else { Outcome::Keep })
}

/// Whether `file` holds exactly `contents`.
fn holds(file: &mut fs::File, contents: &[u8]) -> std::io::Result<bool> {
    use std::io::Read;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::ErrorKind::IsADirectory.into());
    }
    if meta.len() != contents.len() as u64 {
        return Ok(false);
    }
    let mut piece = vec![0u8; contents.len().clamp(1, 1 << 16)];
    let mut at = 0;
    loop {
        let n = file.read(&mut piece)?;
        if n == 0 {
            return Ok(at == contents.len());
        }
        if contents.get(at..at + n) != Some(&piece[..n]) {
            return Ok(false);
        }
        at += n;
    }
}

/// Whether `file` still carries a meshsmith header whose hash matches the rest of it (a
/// stale generation, safe to replace), hashing the rest as it is read.
fn generated_as_is(mut file: fs::File) -> std::io::Result<bool> {
    use std::io::{BufRead, Seek};
    file.rewind()?;
    let mut reader = std::io::BufReader::new(file);
    // The header is the first line, or the second in JSON (after its `{`): both are read
    // whole, however long.
    let mut head = Vec::new();
    reader.read_until(b'\n', &mut head)?;
    reader.read_until(b'\n', &mut head)?;
    let Some((at, recorded)) = std::str::from_utf8(&head).ok().and_then(header_hash) else {
        return Ok(false);
    };
    let mut body = meshsmith_core::generate::layout::BodyHash::default();
    body.update(&head[at..]);
    std::io::copy(&mut reader, &mut body)?;
    Ok(body.finish() == recorded)
}

/// The files of `files` that a [`TreeWriter`] would keep as they are, each with the text it
/// would write and the text that is there: `(path, generated, on disk)`, in `files`' order.
pub fn kept_files(
    dir: &Path,
    files: &[(PathBuf, String)],
    force: bool,
) -> anyhow::Result<Vec<(PathBuf, String, String)>> {
    let mut out = Vec::new();
    for (rel, contents) in files {
        if let Outcome::Keep = outcome(dir, rel, contents, force)? {
            let path = dir.join(rel);
            let existing =
                fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let text = String::from_utf8(existing).map_err(|_| {
                anyhow::anyhow!(
                    "{}: edited since it was generated, and it is not UTF-8 text; fix it, or run again with --force to write the generated file",
                    path.display()
                )
            })?;
            out.push((rel.clone(), contents.clone(), text));
        }
    }
    Ok(out)
}

/// Writes `files` under `dir` with a [`TreeWriter`], as the module documentation says; with
/// `prune`, removes the generated files no longer written.
#[cfg(test)]
pub fn write_tree_with(
    dir: &Path,
    files: &[(PathBuf, String)],
    options: WriteOptions,
) -> anyhow::Result<WriteReport> {
    // Every path is checked before anything is staged, so a refusal writes nothing.
    for (rel, _) in files {
        check_relative(rel)?;
    }
    let mut writer = TreeWriter::begin(dir, options)?;
    for (rel, contents) in files {
        writer.add(rel, contents)?;
    }
    writer.finish()
}

/// What [`write_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    Written,
    Unchanged,
    /// Edited by a person (or not written by meshsmith) and left as it was.
    Kept,
}

/// Writes one generated file on its own, as a [`TreeWriter`] writes each of its files
/// (identical: left; edited by a person: kept unless `force`), atomically: the text goes to
/// a temporary file beside it, which is then renamed over it.
pub fn write_file(path: &Path, contents: &str, force: bool) -> anyhow::Result<FileOutcome> {
    let (Some(name), dir) = (path.file_name(), path.parent().unwrap_or(Path::new(""))) else {
        bail!("{}: not a file name", path.display());
    };
    match outcome(dir, Path::new(name), contents, force)? {
        Outcome::Unchanged => return Ok(FileOutcome::Unchanged),
        Outcome::Keep => return Ok(FileOutcome::Kept),
        Outcome::Write => {}
    }
    if !dir.as_os_str().is_empty() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let staged = dir.join(format!(
        ".{}.meshsmith-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = fs::write(&staged, contents)
        .and_then(|()| fs::rename(&staged, path))
        .with_context(|| format!("writing {}", path.display()));
    if written.is_err() {
        let _ = fs::remove_file(&staged);
    }
    written.map(|()| FileOutcome::Written)
}

/// What a write did, for people: one line of counts, then what a person must know (files
/// kept because they were edited, files no longer generated, an interrupted write repaired).
pub fn describe(dir: &Path, report: &WriteReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(repaired) = &report.repaired {
        let _ = writeln!(out, "note: {repaired}");
    }
    let _ = writeln!(
        out,
        "{}: {} written, {} unchanged, {} kept",
        dir.display(),
        crate::render::counted(report.written.len(), "file"),
        report.unchanged.len(),
        report.kept.len()
    );
    for path in &report.kept {
        let _ = writeln!(
            out,
            "  kept (edited since it was generated; --force overwrites): {}",
            dir.join(path).display()
        );
    }
    if !report.stale.is_empty() {
        let what = if report.pruned {
            "removed (--prune)"
        } else {
            "left in place; --prune removes them"
        };
        let _ = writeln!(
            out,
            "{} generated earlier no longer generated (a service or step gone from the input or the plan), {what}:",
            crate::render::counted(report.stale.len(), "file")
        );
        for path in &report.stale {
            let _ = writeln!(out, "  {}", dir.join(path).display());
        }
    }
    out
}

/// Files under `dir` that meshsmith generated (their header and hash still match) and that
/// `files` no longer has, sorted. Edited ones are not listed: they are a person's now.
fn stale(dir: &Path, wanted: &BTreeSet<Arc<Path>>) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let child = rel.join(&name);
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(child),
                Ok(t) if t.is_file() && !wanted.contains(child.as_path()) => {
                    let text = fs::read(dir.join(&child)).unwrap_or_default();
                    let generated = std::str::from_utf8(&text).ok().and_then(edited) == Some(false);
                    if generated {
                        out.push(child);
                    }
                }
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
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

    fn paths(list: &[Arc<Path>]) -> Vec<PathBuf> {
        list.iter().map(|p| p.to_path_buf()).collect()
    }
    use meshsmith_core::generate::layout::{layout, Header};
    use meshsmith_core::model::MeshConfig;

    fn write_tree(
        dir: &Path,
        files: &[(PathBuf, String)],
        force: bool,
    ) -> anyhow::Result<WriteReport> {
        write_tree_with(
            dir,
            files,
            WriteOptions {
                force,
                prune: false,
            },
        )
    }

    /// Replaces `from` with `to` in the file at `path`, as a person would; its new text.
    fn edit(path: &Path, from: &str, to: &str) -> String {
        let edited = fs::read_to_string(path).expect("file").replace(from, to);
        fs::write(path, &edited).expect("edit");
        edited
    }

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
        assert_eq!(
            paths(&r.written),
            vec![PathBuf::from("ns/svc/sidecar.yaml")]
        );
        assert!(fs::read_to_string(out.join("ns/svc/sidecar.yaml"))
            .expect("file")
            .ends_with("a: 2\n"));
    }

    /// Files larger than what is read at once: compared and hashed piece by piece, the
    /// verdicts are the same as for a small one.
    #[test]
    fn large_files_are_told_unchanged_stale_or_edited() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let body = |n: u32| {
            (0..200_000u32)
                .map(|i| format!("k{i}: {}\n", i.wrapping_mul(n)))
                .collect::<String>()
        };
        let (one, two) = (body(1), body(2));
        assert!(one.len() > 1 << 20);
        write_tree(&out, &files(&one), false).expect("written");
        let again = write_tree(&out, &files(&one), false).expect("rerun");
        assert_eq!(again.written.len(), 0);
        let r = write_tree(&out, &files(&two), false).expect("stale one replaced");
        assert_eq!(
            paths(&r.written),
            vec![PathBuf::from("ns/svc/sidecar.yaml")]
        );
        // One byte changed far past the first piece, the length kept: an edit.
        let path = out.join("ns/svc/sidecar.yaml");
        let mut text = fs::read(&path).expect("file");
        let at = text.len() - 3;
        text[at] = if text[at] == b'7' { b'8' } else { b'7' };
        fs::write(&path, &text).expect("edit");
        let r = write_tree(&out, &files(&two), false).expect("edited one kept");
        assert_eq!(paths(&r.kept), vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert_eq!(fs::read(&path).expect("file"), text);
        let kept = kept_files(&out, &files(&one), false).expect("kept files");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].2.as_bytes(), &text[..]);
    }

    /// A header line longer than what a read gives at once (a run over very many inputs) is
    /// still read whole as a header.
    #[test]
    fn a_long_header_line_is_found() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let inputs = "in.yaml, ".repeat(1 << 14);
        let file = |body: &str| {
            let hash = meshsmith_core::generate::layout::hash(body);
            vec![(
                PathBuf::from("a.yaml"),
                format!("# Generated by meshsmith test from {inputs}; do not edit by hand. sha256:{hash}\n{body}"),
            )]
        };
        write_tree(&out, &file("a: 1\n"), false).expect("written");
        let r = write_tree(&out, &file("a: 2\n"), false).expect("stale one replaced");
        assert_eq!(paths(&r.written), vec![PathBuf::from("a.yaml")]);
        let path = out.join("a.yaml");
        let edited = edit(&path, "a: 2", "a: 9");
        let r = write_tree(&out, &file("a: 3\n"), false).expect("edited one kept");
        assert_eq!(paths(&r.kept), vec![PathBuf::from("a.yaml")]);
        assert_eq!(fs::read_to_string(&path).expect("file"), edited);
    }

    #[test]
    fn an_edited_file_survives_unless_forced() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        write_tree(&out, &files("a: 1\n"), false).expect("written");
        let path = out.join("ns/svc/sidecar.yaml");
        let edited = edit(&path, "a: 1", "a: 99");
        let r = write_tree(&out, &files("a: 2\n"), false).expect("rerun");
        assert_eq!(paths(&r.kept), vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert_eq!(fs::read_to_string(&path).expect("file"), edited);
        let forced = write_tree(&out, &files("a: 2\n"), true).expect("forced");
        assert_eq!(
            paths(&forced.written),
            vec![PathBuf::from("ns/svc/sidecar.yaml")]
        );
        assert!(fs::read_to_string(&path).expect("file").ends_with("a: 2\n"));
    }

    #[test]
    fn kept_files_are_the_ones_the_writer_keeps_with_their_text() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        assert!(kept_files(&out, &files("a: 1\n"), false)
            .expect("nothing there yet")
            .is_empty());
        write_tree(&out, &files("a: 1\n"), false).expect("written");
        let path = out.join("ns/svc/sidecar.yaml");
        let edited = edit(&path, "a: 1", "a: 99");
        let next = files("a: 2\n");
        let kept = kept_files(&out, &next, false).expect("read");
        assert_eq!(kept.len(), 1);
        let (rel, generated, on_disk) = &kept[0];
        assert_eq!(rel, &PathBuf::from("ns/svc/sidecar.yaml"));
        assert!(generated.ends_with("a: 2\n"));
        assert_eq!(on_disk, &edited);
        assert_eq!(
            paths(&write_tree(&out, &next, false).expect("rerun").kept),
            vec![rel.clone()]
        );
        assert!(kept_files(&out, &next, true).expect("forced").is_empty());
    }

    #[test]
    fn a_file_without_a_header_is_not_ours_to_replace() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        fs::create_dir_all(out.join("ns/svc")).expect("dirs");
        fs::write(out.join("ns/svc/sidecar.yaml"), "hand: written\n").expect("write");
        let r = write_tree(&out, &files("a: 1\n"), false).expect("run");
        assert_eq!(paths(&r.kept), vec![PathBuf::from("ns/svc/sidecar.yaml")]);
        assert_eq!(
            paths(&r.written),
            vec![PathBuf::from("ns/kustomization.yaml")]
        );
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

    #[test]
    fn generated_files_no_longer_written_are_listed_and_pruned_only_when_asked() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let mut before = files("a: 1\n");
        before.push((
            PathBuf::from("old/svc/sidecar.yaml"),
            before[before.len() - 2].1.clone(),
        ));
        write_tree(&out, &before, false).expect("written");
        fs::write(out.join("notes.txt"), "mine\n").expect("a person's file");
        let r = write_tree(&out, &files("a: 1\n"), false).expect("rerun");
        assert_eq!(r.stale, vec![PathBuf::from("old/svc/sidecar.yaml")]);
        assert!(!r.pruned && out.join("old/svc/sidecar.yaml").exists());
        let options = WriteOptions {
            force: false,
            prune: true,
        };
        let r = write_tree_with(&out, &files("a: 1\n"), options).expect("pruned");
        assert!(r.pruned);
        assert!(!out.join("old").exists(), "the emptied folders go too");
        assert!(
            out.join("notes.txt").exists(),
            "what meshsmith did not write stays"
        );
    }

    #[test]
    fn a_write_interrupted_after_its_commit_is_finished_by_the_next_run() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        write_tree(&out, &files("a: 1\n"), false).expect("written");
        // What a kill right after the commit point leaves: the journal, and staged files
        // of which only some were moved.
        let new = files("a: 2\n");
        let staged = out.join(".meshsmith/staging-1");
        for (rel, text) in &new {
            fs::create_dir_all(staged.join(rel).parent().expect("parent")).expect("dirs");
            fs::write(staged.join(rel), text).expect("stage");
        }
        let journal: String = new
            .iter()
            .map(|(rel, _)| {
                format!(
                    "W .meshsmith/staging-1/{}\t{}\n",
                    rel.display(),
                    rel.display()
                )
            })
            .collect();
        fs::write(out.join(".meshsmith/journal"), journal).expect("journal");
        let (first, _) = &new[0];
        fs::rename(staged.join(first), out.join(first)).expect("one moved");
        let r = write_tree(&out, &new, false).expect("rerun");
        assert!(
            r.repaired
                .as_deref()
                .is_some_and(|m| m.contains("finished a write")),
            "{r:?}"
        );
        assert!(!out.join(".meshsmith").exists());
        for (rel, text) in &new {
            assert_eq!(&fs::read_to_string(out.join(rel)).expect("file"), text);
        }
    }

    #[test]
    fn a_write_interrupted_before_its_commit_leaves_the_old_tree() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let old = files("a: 1\n");
        write_tree(&out, &old, false).expect("written");
        let staged = out.join(".meshsmith/staging-1/ns/svc");
        fs::create_dir_all(&staged).expect("dirs");
        fs::write(staged.join("sidecar.yaml"), "half").expect("stage");
        // A dead run's staging folder beside a new output folder, too.
        let dead = tmp.path().join(".fresh.meshsmith-4194304");
        fs::create_dir_all(&dead).expect("dead staging");
        let r = write_tree(&tmp.path().join("fresh"), &old, false).expect("fresh");
        assert!(!dead.exists());
        assert!(r.repaired.is_none());
        let r = write_tree(&out, &old, false).expect("rerun");
        assert!(r
            .repaired
            .as_deref()
            .is_some_and(|m| m.contains("removed what an interrupted")));
        assert_eq!(r.unchanged.len(), old.len());
        assert!(!out.join(".meshsmith").exists());
    }
}
