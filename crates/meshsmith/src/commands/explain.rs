//! `meshsmith explain NAME`: what a check code means (`MS301`, or a rule name: the rule's
//! documentation, the same text SARIF and the docs use), or, with manifests,
//! `meshsmith explain SERVICE PATH...`: why a service got each of its values (its role and
//! the evidence for it, and for every field the default, policy line or edge that set it).

use crate::commands::generate::{build, ConfigArgs};
use crate::input::InputArgs;
use anyhow::bail;
use meshsmith_core::check::{rule, RULES};
use meshsmith_core::model::{MeshConfig, QualifiedName};
use std::fmt::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// A check code (`MS301`) or rule name (`unknown-destination-host`), or a service
    /// (`name` or `name.namespace`) followed by the manifests. Without it, every check code.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Manifests, when NAME is a service.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Namespace for objects that name none.
    #[arg(long, short = 'n', default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Observed traffic, as `map --traffic` takes it.
    #[arg(long, value_name = "PATH")]
    pub traffic: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = &args.name else {
        crate::output::print(&code_table())?;
        return Ok(ExitCode::SUCCESS);
    };
    if rule(name).is_some() {
        crate::output::print(&format!("{}\n", explain_code(name)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.paths.is_empty() {
        bail!(
            "`{name}` is not a check code or rule name (codes look like MS301); to explain a \
             service, give its manifests too: meshsmith explain {name} PATH..."
        );
    }
    let input = InputArgs {
        paths: args.paths.clone(),
        namespace: args.namespace.clone(),
        traffic: args.traffic.clone(),
        writes_to: None,
    };
    let built = build(&input, &args.config, true)?;
    let Some(service) = built.topology.find(name) else {
        bail!("no service `{name}` in the input");
    };
    // The service's own header, then its role and callers, then every resource's reasons.
    let reasons = render_reasons(&service.id, &built.mesh);
    let (header, resources) = reasons.split_once('\n').unwrap_or((&reasons, ""));
    crate::output::print(&format!(
        "{header}\n  role {}: {}\n  callers {}: {}\n  protocol {}: {}; Istio: {} ({})\n{resources}",
        service.role.as_str(),
        service.role_reason,
        service.callers.level.as_str(),
        service.callers.summary(),
        service.protocol.as_str(),
        service.protocol_reason,
        service.declared_protocol.as_str(),
        service.declared_reason,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Every check code with its name, severity and one-line summary, aligned.
pub fn code_table() -> String {
    let width = RULES.iter().map(|r| r.meta.name.len()).max().unwrap_or(0);
    RULES
        .iter()
        .map(|r| {
            let m = &r.meta;
            format!(
                "{}  {:<width$}  {:<7}  {}\n",
                m.code,
                m.name,
                m.severity.as_str(),
                m.summary()
            )
        })
        .collect()
}

/// The full documentation of one rule, headed by its code, name, severity and istioctl code.
pub fn explain_code(name: &str) -> anyhow::Result<String> {
    let Some(r) = rule(name) else {
        bail!("`{name}` is not a check code or rule name (codes look like MS301)");
    };
    let m = &r.meta;
    let istio = m.istio_code.map_or(String::new(), |c| {
        let section = m.section("istioctl");
        let analyzers = istio_analyzers(&section);
        if analyzers.is_empty() {
            format!(", istioctl analyze {c}")
        } else {
            format!(", istioctl analyze {c} from {}", analyzers.join(", "))
        }
    });
    Ok(format!(
        "{} {} ({}{istio})\n\n{}",
        m.code,
        m.name,
        m.severity,
        m.doc_markdown()
    ))
}

/// The istioctl analyzers a rule's `## istioctl` section names (`virtualservice.GatewayAnalyzer`).
fn istio_analyzers(section: &str) -> Vec<&str> {
    let mut found: Vec<&str> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| w.contains("Analyzer") && !w.contains(' '))
        .collect();
    found.dedup();
    found
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
    fn explains_a_code_from_its_doc_comment() {
        let text = explain_code("MS303").expect("MS303 exists");
        assert!(
            text.starts_with(
                "MS303 unknown-destination-host (error, istioctl analyze IST0101 from \
                 virtualservice.DestinationHostAnalyzer)"
            ),
            "{text}"
        );
        assert!(text.contains("## istioctl"));
        let unmapped = explain_code("MS301").expect("MS301 exists");
        assert!(
            unmapped.starts_with("MS301 invalid-istio-field (error)"),
            "{unmapped}"
        );
        assert!(unmapped.contains("Not mapped."), "{unmapped}");
        assert!(text.contains("## Why it matters"));
        assert!(text.contains("## Fix"));
        assert!(explain_code("MS999").is_err());
    }

    #[test]
    fn lists_every_code_once() {
        let table = code_table();
        assert_eq!(table.lines().count(), RULES.len());
        assert!(table
            .lines()
            .any(|l| l.starts_with("MS201  dependency-cycle ")));
    }

    #[test]
    fn reasons_are_listed_per_resource() {
        let id = QualifiedName::new("shop", "web");
        let mesh = MeshConfig {
            resources: vec![Box::new(Resource {
                kind: Kind::PeerAuthentication,
                api_version: "security.istio.io/v1".into(),
                name: "web".into(),
                namespace: "shop".into(),
                owner: id.clone(),
                labels: Default::default(),
                annotations: Default::default(),
                spec: Spec::NamespacePatch(Default::default()),
                reasons: vec![Reason::new("spec.mtls.mode", "STRICT", "default")],
            })],
            notes: vec![],
            ..Default::default()
        };
        let text = render_reasons(&id, &mesh);
        assert!(text.contains("PeerAuthentication web"), "{text}");
        assert!(text.contains("spec.mtls.mode = STRICT  default"), "{text}");
        assert!(render_reasons(&QualifiedName::new("x", "y"), &mesh).contains("nothing generated"));
    }
}
