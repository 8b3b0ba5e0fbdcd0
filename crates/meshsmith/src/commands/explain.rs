//! `meshsmith explain SERVICE PATH...`: why a service got each of its values: its role and
//! the evidence for it, and for every field the default, policy line or edge that set it.

use crate::commands::generate::{build, ConfigArgs};
use crate::input::InputArgs;
use anyhow::bail;
use meshsmith_core::model::{MeshConfig, QualifiedName};
use std::fmt::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The service: `name` or `name.namespace`.
    #[arg(value_name = "SERVICE")]
    pub service: String,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let built = build(&args.input, &args.config, true)?;
    let Some(service) = built.topology.find(&args.service) else {
        bail!("no service `{}` in the input", args.service);
    };
    print!("{}", render_reasons(&service.id, &built.mesh));
    Ok(ExitCode::SUCCESS)
}

/// Every generated resource of one service with the reason for each value, as text.
pub fn render_reasons(id: &QualifiedName, mesh: &MeshConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{id}");
    let resources: Vec<_> = mesh.resources.iter().filter(|r| &r.owner == id).collect();
    if resources.is_empty() {
        let _ = writeln!(out, "  nothing generated");
    }
    for r in resources {
        let _ = writeln!(out, "  {} {}", r.kind.as_str(), r.name);
        let width = r
            .reasons
            .iter()
            .map(|x| x.field.len() + x.value.len() + 3)
            .max()
            .unwrap_or(0);
        for reason in &r.reasons {
            let left = format!("{} = {}", reason.field, reason.value);
            let _ = writeln!(out, "    {left:<width$}  {}", reason.why);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshsmith_core::model::{Kind, Reason, Resource, Spec};

    #[test]
    fn reasons_are_listed_per_resource() {
        let id = QualifiedName::new("shop", "web");
        let mesh = MeshConfig {
            resources: vec![Resource {
                kind: Kind::PeerAuthentication,
                api_version: "security.istio.io/v1".into(),
                name: "web".into(),
                namespace: "shop".into(),
                owner: id.clone(),
                labels: Default::default(),
                annotations: Default::default(),
                spec: Spec::NamespacePatch(Default::default()),
                reasons: vec![Reason::new("spec.mtls.mode", "STRICT", "default")],
            }],
            notes: vec![],
        };
        let text = render_reasons(&id, &mesh);
        assert!(text.contains("PeerAuthentication web"), "{text}");
        assert!(text.contains("spec.mtls.mode = STRICT  default"), "{text}");
        assert!(render_reasons(&QualifiedName::new("x", "y"), &mesh).contains("nothing generated"));
    }
}
