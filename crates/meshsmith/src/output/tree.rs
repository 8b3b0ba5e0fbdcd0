//! [`TreeWriter`]: the tree written one file at a time, each staged as it comes, so a large
//! output (a rollout's step folders) is never held whole in memory. What it does with each
//! file, and how it commits, is what the module documentation says.

use super::commit::{self, Staged};
use super::{check_relative, outcome, stale, Outcome, WriteOptions, WriteReport};
use anyhow::bail;
use meshsmith_core::generate::layout::{layout_each, Header};
use meshsmith_core::model::MeshConfig;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct TreeWriter {
    dir: PathBuf,
    options: WriteOptions,
    staged: Staged,
    report: WriteReport,
    /// Every path of the new tree, each allocated once and shared with the report and the
    /// staged list.
    paths: BTreeSet<Arc<Path>>,
}

impl TreeWriter {
    /// Finishes or undoes a write an earlier run left part-way, then starts this one.
    pub fn begin(dir: &Path, options: WriteOptions) -> anyhow::Result<TreeWriter> {
        if dir.exists() && !dir.is_dir() {
            bail!(
                "{}: is a file, not a folder: give a folder (new or one meshsmith wrote) to write into",
                dir.display()
            );
        }
        let report = WriteReport {
            repaired: commit::recover(dir)?,
            ..WriteReport::default()
        };
        Ok(TreeWriter {
            dir: dir.to_path_buf(),
            options,
            staged: Staged::begin(dir),
            report,
            paths: BTreeSet::new(),
        })
    }

    /// One file of the new tree (a path relative to the folder): staged when it differs
    /// from what is there and that is not a person's edit (unless forced).
    pub fn add(&mut self, rel: &Path, contents: &str) -> anyhow::Result<()> {
        check_relative(rel)?;
        let rel: Arc<Path> = Arc::from(rel);
        if !self.paths.insert(Arc::clone(&rel)) {
            bail!("{}: written twice in one run", rel.display());
        }
        match outcome(&self.dir, &rel, contents, self.options.force)? {
            Outcome::Unchanged => self.report.unchanged.push(rel),
            Outcome::Write => {
                self.staged.put(Arc::clone(&rel), contents)?;
                self.report.written.push(rel);
            }
            Outcome::Keep => self.report.kept.push(rel),
        }
        Ok(())
    }

    /// Every file of the configuration's layout, under `under`, each added as it is
    /// rendered: the configuration's text is never all in memory at once.
    pub fn add_configuration(
        &mut self,
        mesh: &MeshConfig,
        header: &Header,
        under: &Path,
    ) -> anyhow::Result<()> {
        let writer = std::sync::Mutex::new(self);
        let failed: std::sync::Mutex<Option<anyhow::Error>> = std::sync::Mutex::new(None);
        layout_each(mesh, header, &|rel, text| {
            let mut failed = failed.lock().unwrap_or_else(|e| e.into_inner());
            if failed.is_some() {
                return;
            }
            let mut writer = writer.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = writer.add(&under.join(rel), &text) {
                *failed = Some(e);
            }
        });
        match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Commits the staged files; generated files the tree no longer has are listed, and
    /// removed with `prune`.
    pub fn finish(self) -> anyhow::Result<WriteReport> {
        let TreeWriter {
            dir,
            options,
            staged,
            mut report,
            paths,
        } = self;
        report.stale = stale(&dir, &paths)?;
        report.pruned = options.prune && !report.stale.is_empty();
        let remove = if options.prune {
            report.stale.clone()
        } else {
            Vec::new()
        };
        staged.finish(&remove)?;
        report.written.sort();
        report.unchanged.sort();
        report.kept.sort();
        Ok(report)
    }
}
