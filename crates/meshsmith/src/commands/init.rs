//! `meshsmith init`: writes a commented policy file with every default spelled out.

use anyhow::{bail, Context};
use meshsmith_core::policy;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Where to write the policy file.
    #[arg(long, value_name = "FILE", default_value = policy::FILE_NAME)]
    pub policy: PathBuf,
    /// Replace an existing policy file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    if args.policy.exists() && !args.force {
        bail!(
            "{} already exists; use --force to replace it",
            args.policy.display()
        );
    }
    let name = args.policy.display().to_string();
    // Written beside the target and renamed, so a failure never leaves half a file.
    let mut staged = args.policy.clone().into_os_string();
    staged.push(format!(".meshsmith-{}", std::process::id()));
    let staged = PathBuf::from(staged);
    std::fs::write(&staged, policy::init_template())
        .with_context(|| format!("writing {}", staged.display()))?;
    if let Err(e) = std::fs::rename(&staged, &args.policy) {
        let _ = std::fs::remove_file(&staged);
        return Err(e).with_context(|| format!("writing {name}"));
    }
    eprintln!("wrote {name}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_policy_that_reads_back_as_the_defaults_and_never_clobbers() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("meshsmith.yaml");
        let args = InitArgs {
            policy: path.clone(),
            force: false,
        };
        run(&args).expect("written");
        let text = std::fs::read_to_string(&path).expect("file");
        let parsed = policy::parse("meshsmith.yaml", &text).expect("parses");
        assert_eq!(parsed.roles, policy::Policy::default().roles);
        std::fs::write(&path, "trustDomain: mine.example\n").expect("edit");
        assert!(run(&args).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).expect("file"),
            "trustDomain: mine.example\n"
        );
        run(&InitArgs {
            policy: path.clone(),
            force: true,
        })
        .expect("forced");
        assert_eq!(std::fs::read_to_string(&path).expect("file"), text);
        assert_eq!(std::fs::read_dir(tmp.path()).expect("list").count(), 1);
    }
}
