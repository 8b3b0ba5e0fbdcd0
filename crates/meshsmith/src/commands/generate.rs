//! `meshsmith generate`: manifests + policy file -> Istio configuration, written as a tree
//! of files (`-o DIR`) or printed as one stream (`--stdout`), optionally with the reason
//! for every value (`--explain`).

use crate::commands::explain::render_reasons;
use crate::input::{read, InputArgs};
use crate::output::{TreeWriter, WriteOptions};
use anyhow::{anyhow, Context};
use meshsmith_core::generate::{generate, stream, GenerateOptions, Header};
use meshsmith_core::infer::Extra;
use meshsmith_core::model::{ApiVersion, Inventory};
use meshsmith_core::policy::{self, IstioVersion, Policy};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write `<namespace>/<service>/<kind>.yaml` and kustomizations into.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        required_unless_present = "stdout"
    )]
    pub output: Option<PathBuf>,
    /// Print one multi-document YAML stream instead of writing files.
    #[arg(long, conflicts_with = "output")]
    pub stdout: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Overwrite files a person edited since they were generated.
    #[arg(long)]
    pub force: bool,
    /// Remove files generated earlier that this run no longer writes (a service gone from the
    /// input); without it they are listed and left.
    #[arg(long)]
    pub prune: bool,
    /// Also print the reason for every value.
    #[arg(long)]
    pub explain: bool,
}

/// The policy and the Istio target, shared by `generate` and `explain`.
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Policy file; default `meshsmith.yaml` in the current folder if there is one.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// API version of the Istio resources.
    #[arg(long, value_name = "VERSION", default_value = "v1", value_parser = parse_api_version)]
    pub api_version: ApiVersion,
    /// Istio the configuration is for (e.g. 1.30); newer fields are left out. Default: the policy's.
    #[arg(long, value_name = "VERSION", value_parser = IstioVersion::parse)]
    pub istio_version: Option<IstioVersion>,
    /// Enforce AuthorizationPolicies even of services whose callers are not known (by default
    /// they ship in dry-run): a caller the graph does not show will be denied.
    #[arg(long)]
    pub enforce_unverified: bool,
}

fn parse_api_version(text: &str) -> Result<ApiVersion, String> {
    ApiVersion::parse(text).ok_or_else(|| format!("`{text}`: expected v1 or v1beta1"))
}

/// The policy to apply and the file it came from, if any.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<(Policy, Option<String>)> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None if Path::new(policy::FILE_NAME).is_file() => PathBuf::from(policy::FILE_NAME),
        None => return Ok((Policy::default(), None)),
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the policy file {name}"))?;
    // Every problem of the file at once, one per line.
    let policy = policy::parse_all(&name, &text)?;
    Ok((policy, Some(name)))
}

/// Everything up to the generated configuration; any input or policy problem stops here.
/// Runs the pipeline up to the mesh configuration; `reasons` keeps the reason of every value.
pub fn build(input: &InputArgs, config: &ConfigArgs, reasons: bool) -> anyhow::Result<Built> {
    let (policy, policy_file) = load_policy(config.policy.as_deref())?;
    // Only the inventory and the traffic are needed from here on; the input's text is let go.
    let read = read(input)?;
    crate::input::print_warnings(&read.inventory, crate::input::Warnings::All);
    let mut inventory = read.inventory;
    let declared = policy.declared_callers();
    let extra = Extra {
        traffic: read.traffic.as_ref(),
        declared: &declared,
    };
    let topology = meshsmith_core::infer::infer_with(&inventory, &extra);
    drop(read.traffic);
    // From here on only checking reads the inventory, and it needs none of this.
    inventory.release_inference_inputs();
    let options = GenerateOptions {
        api_version: config.api_version,
        istio_version: config.istio_version,
        namespace_labels: inventory.namespace_labels(),
        service_accounts: inventory
            .service_accounts
            .iter()
            .map(|a| (a.namespace.clone(), a.name.clone()))
            .collect(),
        without_reasons: !reasons,
        enforce_unverified: config.enforce_unverified,
    };
    if config.enforce_unverified {
        eprintln!(
            "warning: --enforce-unverified: AuthorizationPolicies are enforced even where the callers are not known; \
             a caller the graph does not show will be denied"
        );
    }
    let mesh = generate(&topology, &policy, &options);
    let header = Header::for_inputs(
        env!("CARGO_PKG_VERSION"),
        &topology,
        policy_file.as_deref(),
        !input.traffic.is_empty(),
    );
    Ok(Built {
        policy,
        inventory,
        topology,
        mesh,
        header,
    })
}

pub struct Built {
    /// The policy file's settings (or the defaults), read once.
    pub policy: Policy,
    /// What was read, for `check` and `onboard`.
    pub inventory: Inventory,
    pub topology: meshsmith_core::model::Topology,
    pub mesh: meshsmith_core::model::MeshConfig,
    pub header: Header,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let input = args.input.writing_to(args.output.as_deref());
    let built = build(&input, &args.config, args.explain)?;
    emit(args, &built)
}

/// Writes or prints what was built; the only step that touches the output.
fn emit(args: &GenerateArgs, built: &Built) -> anyhow::Result<ExitCode> {
    for note in &built.mesh.notes {
        eprintln!("note: {note}");
    }
    if args.explain {
        for service in &built.topology.services {
            eprint!("{}", render_reasons(&service.id, &built.mesh));
        }
    }
    match (&args.output, args.stdout) {
        (_, true) => crate::output::print(&stream(&built.mesh, &built.header))?,
        (Some(dir), false) => {
            let options = WriteOptions {
                force: args.force,
                prune: args.prune,
            };
            // Each file is written as it is rendered; an error part-way writes nothing.
            let mut writer = TreeWriter::begin(dir, options)?;
            writer.add_configuration(&built.mesh, &built.header, Path::new(""))?;
            let report = writer.finish()?;
            eprint!("{}", crate::output::describe(dir, &report));
        }
        (None, false) => return Err(anyhow!("give -o DIR or --stdout")),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: GenerateArgs,
    }

    fn args(list: &[&str]) -> GenerateArgs {
        let mut argv = vec!["generate"];
        argv.extend_from_slice(list);
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli.args,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn an_input_error_writes_nothing_at_all() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let bad = tmp.path().join("bad.yaml");
        std::fs::write(&bad, "kind: Deployment\nmetadata: {name: a\n").expect("write");
        let a = args(&[
            bad.to_str().unwrap_or_default(),
            "-o",
            out.to_str().unwrap_or_default(),
        ]);
        assert!(run(&a).is_err());
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(tmp.path()).expect("list").count(), 1);
    }

    #[test]
    fn a_bad_policy_file_is_an_error_with_its_line_and_writes_nothing() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let manifests = tmp.path().join("in.yaml");
        std::fs::write(
            &manifests,
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
        )
        .expect("write");
        let policy = tmp.path().join("meshsmith.yaml");
        std::fs::write(
            &policy,
            "trustDomain: example.org\nroles:\n  worker:\n    timeout: forever\n",
        )
        .expect("write");
        let a = args(&[
            manifests.to_str().unwrap_or_default(),
            "--policy",
            policy.to_str().unwrap_or_default(),
            "-o",
            out.to_str().unwrap_or_default(),
        ]);
        let err = run(&a).expect_err("bad policy").to_string();
        assert!(err.contains("meshsmith.yaml:4:"), "{err}");
        assert!(!out.exists());
    }

    /// Two services, one calling the other, as the graph stage hands them over.
    fn built() -> Built {
        use meshsmith_core::model::*;
        let origin = Origin::new(&std::sync::Arc::from("in.yaml"), 1);
        let service = |name: &str| MeshService {
            id: QualifiedName::new("shop", name),
            service: Some(name.to_string()),
            aliases: vec![],
            external_name: None,
            workloads: vec![WorkloadRef {
                name: name.to_string(),
                kind: WorkloadKind::Deployment,
                service_account: name.to_string(),
                sidecar_annotation: None,
                host_network: false,
                pod_labels: [("app".to_string(), name.to_string())].into(),
                selector: [("app".to_string(), name.to_string())].into(),
                origin: origin.clone(),
            }],
            ports: vec![PortInfo {
                port: 8080,
                name: Some("http".into()),
                target_port: Some(8080),
                declared: Protocol::Http,
                believed: Protocol::Http,
                reason: "port name".into(),
                declared_reason: String::new(),
                server_first: false,
                main: false,
                app_protocol: None,
            }],
            protocol: Protocol::Http,
            declared_protocol: Protocol::Http,
            declared_reason: String::new(),
            protocol_reason: String::new(),
            role: Role::SyncApi,
            role_reason: "serves calls".into(),
            exposure: Exposure::default(),
            settings: vec![],
            timeout_audit: TimeoutAudit::None,
            origin: origin.clone(),
            callers: CallerKnowledge::known("test fixture"),
            hidden_calls: vec![],
        };
        let topology = Topology {
            services: vec![service("orders"), service("web")],
            edges: vec![Edge {
                from: QualifiedName::new("shop", "web"),
                to: QualifiedName::new("shop", "orders"),
                port: Some(8080),
                via: vec![],
                protocol: Protocol::Http,
                confidence: Confidence::High,
                evidence: vec![],
                observed: None,
            }],
            ..Topology::default()
        };
        let mesh = generate(&topology, &Policy::default(), &GenerateOptions::default());
        let header = Header {
            version: "test".into(),
            inputs: vec!["in.yaml".into()],
        };
        Built {
            policy: Policy::default(),
            inventory: Inventory::default(),
            topology,
            mesh,
            header,
        }
    }

    fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("list").filter_map(Result::ok) {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push((path.clone(), std::fs::read(&path).expect("read")));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_rerun_is_byte_identical_and_an_edited_file_survives_it() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("out");
        let a = args(&["in.yaml", "-o", out.to_str().unwrap_or_default()]);
        let built = built();
        emit(&a, &built).expect("first run");
        let first = tree(&out);
        assert!(first
            .iter()
            .any(|(p, _)| p.ends_with("shop/orders/authorization-policy.yaml")));
        emit(&a, &built).expect("second run");
        assert_eq!(tree(&out), first);

        let edited = out.join("shop/orders/virtual-service.yaml");
        let text = std::fs::read_to_string(&edited)
            .expect("read")
            .replace("timeout: 3s", "timeout: 4s");
        std::fs::write(&edited, &text).expect("edit");
        emit(&a, &built).expect("third run");
        assert_eq!(std::fs::read_to_string(&edited).expect("read"), text);
        let forced = args(&["in.yaml", "-o", out.to_str().unwrap_or_default(), "--force"]);
        emit(&forced, &built).expect("forced run");
        assert_eq!(tree(&out), first);
    }

    #[test]
    fn flags_parse_and_choose_the_target() {
        let a = args(&[
            "x.yaml",
            "--stdout",
            "--api-version",
            "v1beta1",
            "--istio-version",
            "1.25",
        ]);
        assert_eq!(a.config.api_version, ApiVersion::V1beta1);
        assert_eq!(a.config.istio_version, Some(IstioVersion::new(1, 25)));
        let mut argv = vec!["generate", "x.yaml", "--api-version", "v2"];
        assert!(Cli::try_parse_from(argv.clone()).is_err());
        argv.truncate(2);
        // Neither -o nor --stdout.
        assert!(Cli::try_parse_from(argv).is_err());
    }
}
