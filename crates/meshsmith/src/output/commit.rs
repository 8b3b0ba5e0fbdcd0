//! Putting a staged tree in place so that an interruption at any moment leaves the old tree,
//! the new tree, or a state the next run finishes and reports, never a silent mix.
//!
//! ```text
//!  DIR/.meshsmith/staging-PID/   every new file, written first
//!  DIR/.meshsmith/journal        written last, in one rename: the commit point
//!  renames (and removals) into DIR, then the journal and the staging folder go
//! ```
//! Before the journal exists, the old tree is whole: the next run removes the staging
//! folder. Once it exists, the next run replays it (renames of staged files still there,
//! removals) and says so. A new output folder is staged beside it and appears in one rename
//! when its parent can be written; otherwise, and when the output folder is a mount point,
//! everything stays inside the output folder, so no rename crosses file systems.
//! Ctrl-C and SIGTERM while staging remove the staging folder and stop; during the renames,
//! which are short, they wait for the end.

use anyhow::{bail, Context};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The folder inside the output that holds staging and the journal; loaders and kustomize
/// never see it (a hidden name, listed by no kustomization).
pub const WORK: &str = ".meshsmith";
const JOURNAL: &str = "journal";

/// Finishes or undoes a write an earlier run left part-way, and says which.
pub fn recover(dir: &Path) -> anyhow::Result<Option<String>> {
    remove_dead_siblings(dir);
    let work = dir.join(WORK);
    if !work.is_dir() {
        return Ok(None);
    }
    let journal = work.join(JOURNAL);
    let message = match fs::read_to_string(&journal) {
        Ok(text) => {
            let n = replay(dir, &text)?;
            Some(format!(
                "{}: finished a write an earlier run was interrupted in ({n} files put in place)",
                dir.display()
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
            "{}: removed what an interrupted earlier run had staged; the files there are as that run found them",
            dir.display()
        )),
        Err(e) => return Err(e).with_context(|| format!("reading {}", journal.display())),
    };
    fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    Ok(message)
}

/// Replays a journal: `W <staged path>\t<target>` moves, `R <target>` removals. Moves whose
/// staged file is gone were done already.
fn replay(dir: &Path, journal: &str) -> anyhow::Result<usize> {
    let mut moved = 0;
    for line in journal.lines() {
        if let Some(entry) = line.strip_prefix("W ") {
            let Some((staged, rel)) = entry.split_once('\t') else {
                continue;
            };
            let staged = dir.join(staged);
            if staged.exists() {
                put(&staged, &dir.join(rel))?;
                moved += 1;
            }
        } else if let Some(rel) = line.strip_prefix("R ") {
            remove(&dir.join(rel))?;
        }
    }
    Ok(moved)
}

/// A write in progress: each file is staged as it comes, so the caller need not hold the
/// whole tree; [`Staged::finish`] commits them all. Dropped unfinished (an error, an
/// interruption), it removes what it staged and the output folder is as it was.
pub struct Staged {
    dir: PathBuf,
    /// Where files are staged; created with the first file.
    root: Option<PathBuf>,
    /// `root` is a sibling of a new output folder, renamed into place whole.
    beside: bool,
    staged: Vec<Arc<Path>>,
    stop: Arc<AtomicBool>,
    _interrupts: Interrupts,
    done: bool,
}

impl Staged {
    /// From here on Ctrl-C and SIGTERM stop the write at its next file instead of the process.
    pub fn begin(dir: &Path) -> Staged {
        let stop = Arc::new(AtomicBool::new(false));
        let interrupts = Interrupts::watch(&stop);
        Staged {
            dir: dir.to_path_buf(),
            root: None,
            beside: false,
            staged: Vec::new(),
            stop,
            _interrupts: interrupts,
            done: false,
        }
    }

    fn staging_rel() -> PathBuf {
        PathBuf::from(WORK).join(format!("staging-{}", std::process::id()))
    }

    fn root(&mut self) -> anyhow::Result<PathBuf> {
        if let Some(root) = &self.root {
            return Ok(root.clone());
        }
        let root = match (!self.dir.exists()).then(|| sibling(&self.dir)).flatten() {
            Some(beside) => {
                self.beside = true;
                beside
            }
            None => {
                fs::create_dir_all(&self.dir)
                    .with_context(|| format!("creating {}", self.dir.display()))?;
                self.dir.join(Self::staging_rel())
            }
        };
        self.root = Some(root.clone());
        Ok(root)
    }

    /// Stages one file (a path relative to the output folder).
    pub fn put(&mut self, rel: Arc<Path>, contents: &str) -> anyhow::Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            bail!("interrupted while writing; the output folder is as it was");
        }
        let path = self.root()?.join(&rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        self.staged.push(rel);
        Ok(())
    }

    /// Commits what was staged and removes `remove` (paths relative to the output folder).
    pub fn finish(mut self, remove: &[PathBuf]) -> anyhow::Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            bail!("interrupted while writing; the output folder is as it was");
        }
        if self.staged.is_empty() && remove.is_empty() {
            self.done = true;
            return Ok(());
        }
        if self.beside {
            let root = self.root()?;
            fs::rename(&root, &self.dir).context("moving the output into place")?;
            self.done = true;
            return stopped(&self.stop);
        }
        let dir = self.dir.clone();
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let work = dir.join(WORK);
        let staging_rel = Self::staging_rel();
        let mut journal = String::new();
        for rel in &self.staged {
            let staged = staging_rel.join(rel);
            journal.push_str(&format!("W {}\t{}\n", staged.display(), rel.display()));
        }
        for rel in remove {
            journal.push_str(&format!("R {}\n", rel.display()));
        }
        fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let pending = work.join(format!("{JOURNAL}.tmp"));
        fs::write(&pending, &journal).with_context(|| format!("writing {}", pending.display()))?;
        fs::File::open(&pending).and_then(|f| f.sync_all()).ok();
        // The commit point: from here on the new tree is what the output folder holds.
        fs::rename(&pending, work.join(JOURNAL)).context("committing the write")?;
        self.done = true;
        replay(&dir, &journal)?;
        fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
        stopped(&self.stop)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.beside {
            if let Some(root) = &self.root {
                let _ = fs::remove_dir_all(root);
            }
        } else if self.root.is_some() {
            let _ = fs::remove_dir_all(self.dir.join(WORK));
        }
    }
}

/// A staging folder beside a new output folder, or `None` when its parent cannot hold one.
fn sibling(dir: &Path) -> Option<PathBuf> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).ok()?;
    let base = dir.file_name()?.to_string_lossy().into_owned();
    let candidate = parent.join(format!(".{base}.meshsmith-{}", std::process::id()));
    let _ = fs::remove_dir_all(&candidate);
    fs::create_dir(&candidate).ok().map(|()| candidate)
}

/// Staging folders beside `dir` that a process no longer running left (a kill while a new
/// output folder was being written): the output folder never appeared, so they just go.
fn remove_dead_siblings(dir: &Path) {
    let (Some(parent), Some(base)) = (dir.parent(), dir.file_name()) else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.meshsmith-", base.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix) else {
            continue;
        };
        let alive = Path::new("/proc").join(pid).exists();
        if !alive && pid.parse::<u32>().is_ok() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Moves a staged file into place, creating its folder.
fn put(staged: &Path, target: &Path) -> anyhow::Result<()> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    fs::rename(staged, target).with_context(|| format!("replacing {}", target.display()))
}

/// Removes a file no longer generated, and the folders it leaves empty.
fn remove(target: &Path) -> anyhow::Result<()> {
    match fs::remove_file(target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", target.display())),
    }
    let mut folder = target.parent();
    while let Some(f) = folder {
        if fs::remove_dir(f).is_err() {
            break;
        }
        folder = f.parent();
    }
    Ok(())
}

/// Exit as an interrupted program does, once the tree is whole.
fn stopped(stop: &AtomicBool) -> anyhow::Result<()> {
    if stop.load(Ordering::SeqCst) {
        bail!(
            "interrupted; the output folder holds the tree as it was before, or all of the new one"
        )
    }
    Ok(())
}

/// Ctrl-C and SIGTERM set a flag instead of ending the process while it is registered.
struct Interrupts(Vec<signal_hook::SigId>);

impl Interrupts {
    fn watch(stop: &Arc<AtomicBool>) -> Self {
        let ids = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
            .into_iter()
            .filter_map(|s| signal_hook::flag::register(s, Arc::clone(stop)).ok())
            .collect();
        Interrupts(ids)
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for id in self.0.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
