//! A synthetic organisation, deterministic per seed: teams with their own namespaces, HTTP and
//! gRPC services calling each other in the env-var styles of real projects (host:port, URLs,
//! HOST/PORT pairs, envFrom ConfigMaps, args, connection strings, init-container waits),
//! workers, datastores, external hosts, some existing Istio config, and a few mistakes for
//! `check` to find (dangling names, unnamed ports, missing sidecar annotations, a cycle).

use std::fmt::Write as _;
use std::path::Path;

/// splitmix64: small, fast and the same everywhere, so a seed always gives the same org.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http,
    Grpc,
    Worker,
    Redis,
    Postgres,
    Mongo,
}

const TEAM_SIZE: usize = 25;
const WORDS: [&str; 24] = [
    "order", "cart", "user", "profile", "price", "search", "catalog", "review", "ledger",
    "invoice", "ship", "stock", "quote", "media", "auth", "session", "report", "audit", "notify",
    "promo", "loyalty", "tax", "fraud", "route",
];
const EXTERNAL: [&str; 5] = [
    "https://api.stripe.com",
    "https://api.sendgrid.com/v3",
    "https://hooks.slack.com",
    "https://s3.amazonaws.com",
    "https://api.twilio.com",
];

struct Svc {
    name: String,
    ns: String,
    kind: Kind,
    port: u16,
    calls: Vec<usize>,
    external: Option<&'static str>,
    dangling: bool,
    unnamed_port: bool,
    no_sidecar_annotation: bool,
    timeout: Option<&'static str>,
}

pub struct Org {
    services: Vec<Svc>,
    namespaces: usize,
    seed: u64,
}

impl Org {
    pub fn new(count: usize, seed: u64) -> Org {
        let mut rng = Rng(seed);
        let mut services: Vec<Svc> = Vec::with_capacity(count);
        for i in 0..count {
            let team = i / TEAM_SIZE;
            let kind = match rng.below(20) {
                0 | 1 => Kind::Worker,
                2 => Kind::Redis,
                3 => Kind::Postgres,
                4 => Kind::Mongo,
                5..=9 => Kind::Grpc,
                _ => Kind::Http,
            };
            let word = WORDS[rng.below(WORDS.len())];
            let suffix = match kind {
                Kind::Worker => "worker",
                Kind::Redis => "cache",
                Kind::Postgres | Kind::Mongo => "db",
                _ => "service",
            };
            let port = match kind {
                Kind::Http | Kind::Worker => 8080,
                Kind::Grpc => 50051,
                Kind::Redis => 6379,
                Kind::Postgres => 5432,
                Kind::Mongo => 27017,
            };
            let mut calls = Vec::new();
            if !matches!(kind, Kind::Redis | Kind::Postgres | Kind::Mongo) && i > 0 {
                // Calls go to earlier services (a DAG, as most real call graphs are), mostly
                // within the team.
                let team_start = team * TEAM_SIZE;
                for _ in 0..1 + rng.below(4) {
                    let target = if i > team_start && rng.chance(80) {
                        team_start + rng.below(i - team_start)
                    } else {
                        rng.below(i)
                    };
                    if !calls.contains(&target) {
                        calls.push(target);
                    }
                }
            }
            let timeout = match rng.below(10) {
                0..=2 => None,
                3 | 4 => Some("30s"),
                5 => Some("30000"),
                6 => Some("2500ms"),
                _ => Some("5s"),
            };
            services.push(Svc {
                name: format!("{word}-{suffix}-{i:05}"),
                ns: format!("team-{team:03}"),
                kind,
                port,
                calls,
                external: rng.chance(5).then(|| EXTERNAL[rng.below(EXTERNAL.len())]),
                dangling: rng.chance(1),
                unnamed_port: rng.chance(3),
                no_sidecar_annotation: rng.chance(2),
                timeout,
            });
        }
        // One deliberate cycle per hundred services: a service calling back up its chain.
        for i in (150..count).step_by(100) {
            if let Some(&callee) = services[i].calls.first() {
                if !matches!(
                    services[callee].kind,
                    Kind::Redis | Kind::Postgres | Kind::Mongo
                ) {
                    services[callee].calls.push(i);
                }
            }
        }
        Org {
            services,
            namespaces: count.div_ceil(TEAM_SIZE),
            seed,
        }
    }
}

pub struct Stats {
    pub namespaces: usize,
    pub files: usize,
    pub documents: usize,
    pub bytes: u64,
}

pub fn write(org: &Org, out: &Path) -> anyhow::Result<Stats> {
    let mut stats = Stats {
        namespaces: org.namespaces,
        files: 0,
        documents: 0,
        bytes: 0,
    };
    std::fs::create_dir_all(out)?;
    let mut ns_text = String::new();
    for t in 0..org.namespaces {
        let _ = write!(ns_text, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{t:03}\n  labels:\n    istio-injection: enabled\n    team: team-{t:03}\n");
        stats.documents += 1;
    }
    std::fs::write(out.join("namespaces.yaml"), &ns_text)?;
    stats.files += 1;
    stats.bytes += ns_text.len() as u64;
    let mut rng = Rng(org.seed ^ 0xA5A5);
    for (i, s) in org.services.iter().enumerate() {
        let dir = out.join(&s.ns);
        std::fs::create_dir_all(&dir)?;
        let (text, docs) = service_yaml(org, i, &mut rng);
        std::fs::write(dir.join(format!("{}.yaml", s.name)), &text)?;
        stats.files += 1;
        stats.documents += docs;
        stats.bytes += text.len() as u64;
    }
    Ok(stats)
}

fn host(org: &Org, from: usize, to: usize, rng: &mut Rng) -> String {
    let (a, b) = (&org.services[from], &org.services[to]);
    if a.ns == b.ns && rng.chance(40) {
        b.name.clone()
    } else {
        match rng.below(3) {
            0 => format!("{}.{}", b.name, b.ns),
            1 => format!("{}.{}.svc", b.name, b.ns),
            _ => format!("{}.{}.svc.cluster.local", b.name, b.ns),
        }
    }
}

fn env_var(out: &mut String, name: &str, value: &str) {
    let _ = write!(
        out,
        "            - name: {name}\n              value: \"{value}\"\n"
    );
}

fn service_yaml(org: &Org, i: usize, rng: &mut Rng) -> (String, usize) {
    let s = &org.services[i];
    let mut env = String::new();
    let mut config = String::new();
    let mut args: Vec<String> = Vec::new();
    let mut waits: Vec<String> = Vec::new();
    for (n, &c) in s.calls.iter().enumerate() {
        let callee = &org.services[c];
        let h = host(org, i, c, rng);
        let var = callee
            .name
            .split('-')
            .take(2)
            .collect::<Vec<_>>()
            .join("_")
            .to_uppercase()
            + &format!("_{n}");
        match callee.kind {
            Kind::Postgres => env_var(
                &mut env,
                &format!("{var}_DSN"),
                &format!("postgresql://app@{h}:5432/app?sslmode=disable"),
            ),
            Kind::Mongo => env_var(
                &mut env,
                &format!("{var}_URI"),
                &format!("mongodb://{h}:27017/app"),
            ),
            Kind::Redis => {
                env_var(&mut env, &format!("{var}_ADDR"), &format!("{h}:6379"));
                waits.push(format!("{h} 6379"));
            }
            _ => match rng.below(5) {
                0 => env_var(
                    &mut env,
                    &format!("{var}_ADDR"),
                    &format!("{h}:{}", callee.port),
                ),
                1 => env_var(
                    &mut env,
                    &format!("{var}_URL"),
                    &format!("http://{h}:{}/api", callee.port),
                ),
                2 => {
                    env_var(&mut env, &format!("{var}_HOST"), &h);
                    env_var(&mut env, &format!("{var}_PORT"), &callee.port.to_string());
                }
                3 => {
                    let _ = writeln!(config, "  {var}_URL: http://{h}:{}", callee.port);
                }
                _ => args.push(format!(
                    "--{}-addr={h}:{}",
                    var.to_lowercase().replace('_', "-"),
                    callee.port
                )),
            },
        }
    }
    if let Some(x) = s.external {
        env_var(&mut env, "PROVIDER_API_BASE", x);
    }
    if s.dangling {
        env_var(&mut env, "LEGACY_BILLING_ADDR", "legacy-billing:8080");
    }
    if let Some(t) = s.timeout {
        env_var(&mut env, "UPSTREAM_TIMEOUT", t);
        env_var(&mut env, "UPSTREAM_RETRIES", "3");
    }
    env_var(&mut env, "LOG_LEVEL", "info");
    env_var(&mut env, "OTEL_SERVICE_NAME", &s.name);
    let mut docs = 0;
    let helm = format!("    app.kubernetes.io/name: {}\n    app.kubernetes.io/instance: {}\n    app.kubernetes.io/version: 1.{}.0\n    app.kubernetes.io/managed-by: Helm\n    helm.sh/chart: {}-1.{}.0\n", s.name, s.name, i % 17, s.name, i % 17);
    let mut y = String::with_capacity(6000);
    let (name, ns) = (&s.name, &s.ns);
    let _ = write!(y, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: {name}\n");
    docs += 1;
    let has_config = !config.is_empty();
    if has_config {
        let _ = write!(y, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-deps\n  namespace: {ns}\ndata:\n{config}");
        docs += 1;
    }
    let (workload, image) = match s.kind {
        Kind::Redis => ("StatefulSet", "redis:7.2".to_string()),
        Kind::Postgres => ("StatefulSet", "postgres:16.3".to_string()),
        Kind::Mongo => ("StatefulSet", "mongo:7.0".to_string()),
        _ => (
            "Deployment",
            format!("registry.example.com/{ns}/{name}:1.{}.{}", i % 17, i % 5),
        ),
    };
    let sidecar = if s.no_sidecar_annotation {
        ""
    } else {
        "        sidecar.istio.io/inject: \"true\"\n"
    };
    let probe = match s.kind {
        Kind::Grpc => format!("          readinessProbe:\n            grpc:\n              port: {}\n            periodSeconds: 10\n          livenessProbe:\n            grpc:\n              port: {}\n            initialDelaySeconds: 15\n", s.port, s.port),
        Kind::Http | Kind::Worker => format!("          readinessProbe:\n            httpGet:\n              path: /healthz\n              port: {}\n            periodSeconds: 10\n          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: {}\n            initialDelaySeconds: 15\n", s.port, s.port),
        _ => format!("          readinessProbe:\n            tcpSocket:\n              port: {}\n            periodSeconds: 10\n", s.port),
    };
    let _ = write!(y, "---\napiVersion: apps/v1\nkind: {workload}\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: {name}\n    team: {ns}\n{helm}  annotations:\n    deployment.kubernetes.io/revision: \"3\"\nspec:\n  replicas: {}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n        team: {ns}\n        version: v1\n      annotations:\n{sidecar}        prometheus.io/scrape: \"true\"\n        prometheus.io/port: \"9090\"\n    spec:\n      serviceAccountName: {name}\n      securityContext:\n        runAsNonRoot: true\n        runAsUser: 10001\n        fsGroup: 10001\n", 2 + i % 3);
    if !waits.is_empty() {
        y.push_str("      initContainers:\n        - name: wait-for-deps\n          image: busybox:1.36\n          command: [\"sh\", \"-c\", \"");
        let loops: Vec<String> = waits
            .iter()
            .map(|w| format!("until nc -z {w}; do sleep 2; done"))
            .collect();
        y.push_str(&loops.join("; "));
        y.push_str("\"]\n");
    }
    let _ = write!(y, "      containers:\n        - name: app\n          image: {image}\n          imagePullPolicy: IfNotPresent\n          ports:\n            - name: main\n              containerPort: {}\n            - name: metrics\n              containerPort: 9090\n", s.port);
    if !args.is_empty() {
        y.push_str("          args:\n");
        for a in &args {
            let _ = writeln!(y, "            - \"{a}\"");
        }
    }
    if has_config {
        let _ = write!(
            y,
            "          envFrom:\n            - configMapRef:\n                name: {name}-deps\n"
        );
    }
    let _ = write!(y, "          env:\n            - name: POD_NAME\n              valueFrom:\n                fieldRef:\n                  fieldPath: metadata.name\n{env}{probe}          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n            limits:\n              cpu: 500m\n              memory: 512Mi\n          securityContext:\n            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n");
    let _ = write!(y, "          volumeMounts:\n            - name: tmp\n              mountPath: /tmp\n      volumes:\n        - name: tmp\n          emptyDir: {{}}\n      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n            - weight: 100\n              podAffinityTerm:\n                topologyKey: kubernetes.io/hostname\n                labelSelector:\n                  matchLabels:\n                    app: {name}\n      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n          whenUnsatisfiable: ScheduleAnyway\n          labelSelector:\n            matchLabels:\n              app: {name}\n      tolerations:\n        - key: workload\n          operator: Equal\n          value: general\n          effect: NoSchedule\n      terminationGracePeriodSeconds: 30\n");
    docs += 1;
    // Autoscaling and disruption budgets: kinds meshsmith skips, as real repositories have.
    let _ = write!(y, "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n{helm}spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: {workload}\n    name: {name}\n  minReplicas: 2\n  maxReplicas: 10\n  metrics:\n    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 70\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n{helm}spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: {name}\n");
    docs += 2;
    let port_name = if s.unnamed_port {
        String::new()
    } else {
        let prefix = match s.kind {
            Kind::Grpc => "grpc",
            Kind::Http | Kind::Worker => "http",
            _ => "tcp",
        };
        format!("      name: {prefix}-main\n")
    };
    let _ = write!(y, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: {name}\n    team: {ns}\n{helm}spec:\n  selector:\n    app: {name}\n  ports:\n    - port: {}\n      targetPort: main\n{port_name}", s.port);
    docs += 1;
    if i % 33 == 7 && matches!(s.kind, Kind::Http | Kind::Grpc) {
        let _ = write!(y, "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  hosts:\n    - {name}\n  http:\n    - timeout: 30s\n      retries:\n        attempts: 3\n        perTryTimeout: 20s\n      route:\n        - destination:\n            host: {name}\n            port:\n              number: {}\n", s.port);
        docs += 1;
    }
    if i % 97 == 13 {
        let _ = write!(y, "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  mtls:\n    mode: PERMISSIVE\n");
        docs += 1;
    }
    (y, docs)
}
