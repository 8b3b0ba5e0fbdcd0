use super::*;
use crate::load::{load_text, Limits};

fn inv(text: &str) -> Inventory {
    let loaded = load_text("in.yaml", text, &Limits::default()).unwrap();
    inventory(&loaded.objects, "default")
}

const DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: orders}
      annotations: {sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: orders
      volumes:
        - name: cfg
          configMap: {name: orders-files}
      initContainers:
        - name: wait
          image: busybox
          command: ["sh", "-c", "until nc -z db 5432; do sleep 1; done"]
      containers:
        - name: app
          image: orders:1
          ports: [{containerPort: 8080, name: http}]
          env:
            - {name: A, value: "http://pay:80"}
            - name: B
              valueFrom: {configMapKeyRef: {name: shared, key: b}}
            - name: C
              valueFrom: {secretKeyRef: {name: creds, key: c}}
            - name: D
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
          envFrom:
            - configMapRef: {name: deps}
          readinessProbe: {grpc: {port: 8080}}
          volumeMounts: [{name: cfg, mountPath: /etc/orders}]
"#;

#[test]
fn workloads_are_typed_with_containers_env_and_volumes() {
    let inv = inv(DEPLOY);
    let w = &inv.workloads[0];
    assert_eq!(
        (w.namespace.as_str(), w.name.as_str(), w.kind),
        ("shop", "orders", WorkloadKind::Deployment)
    );
    assert_eq!(w.service_account, "orders");
    assert_eq!(w.pod_labels.get("app"), Some("orders"));
    assert_eq!(w.containers.len(), 2);
    assert!(w.containers[0].init);
    let app = &w.containers[1];
    assert_eq!(
        app.env[0].source,
        EnvSource::Literal("http://pay:80".into())
    );
    assert_eq!(app.env[0].origin.line, 26);
    assert!(
        matches!(&app.env[1].source, EnvSource::ConfigMapKey { config_map, key } if config_map == "shared" && key == "b")
    );
    assert!(matches!(&app.env[2].source, EnvSource::SecretKey { .. }));
    assert!(matches!(&app.env[3].source, EnvSource::Field(f) if f == "metadata.name"));
    assert_eq!(app.env_from[0].config_map.as_deref(), Some("deps"));
    assert_eq!(app.probes, vec![Probe::Grpc { port: 8080 }]);
    assert_eq!(
        w.config_map_volumes,
        vec![ConfigMapVolume {
            volume: "cfg".into(),
            config_map: "orders-files".into()
        }]
    );
}

#[test]
fn missing_namespace_defaults_and_duplicates_warn() {
    let text = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: default}\n";
    let loaded = load_text("in.yaml", text, &Limits::default()).unwrap();
    let inv = inventory(&loaded.objects, "default");
    assert_eq!(inv.service_accounts.len(), 1);
    // The later definition is kept, as `kubectl apply` would; the earlier one is noted.
    assert_eq!(inv.service_accounts[0].origin.line, 5);
    assert_eq!(inv.notes.len(), 1);
    assert_eq!(inv.notes[0].level, NoteLevel::Warning);
    assert_eq!(inv.notes[0].origin.line, 1);
    assert!(inv.notes[0].message.contains("later definition is used"));
    // Both places are named: the note stands at the first, and names the one that wins.
    assert!(
        inv.notes[0].message.contains("defined again at in.yaml:5"),
        "{}",
        inv.notes[0].message
    );
    let other = inventory(&loaded.objects, "team-a");
    assert_eq!(other.service_accounts.len(), 2);
    assert_eq!(other.service_accounts[1].namespace, "team-a");
}

#[test]
fn services_of_every_type_and_secrets_without_values() {
    let text = r#"
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp-postgres, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: stripe}
spec: {type: ExternalName, externalName: api.stripe.com}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2}
data: {token: aGk=}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec: {hosts: [db]}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
"#;
    let inv = inv(text);
    assert!(inv.services[0].headless);
    assert_eq!(inv.services[1].service_type, ServiceType::ExternalName);
    assert_eq!(
        inv.services[1].external_name.as_deref(),
        Some("api.stripe.com")
    );
    assert_eq!(inv.secrets[0].keys, vec!["password", "token"]);
    assert_eq!(inv.istio[0].kind, "VirtualService");
    assert!(inv
        .notes
        .iter()
        .any(|n| n.message.contains("CustomResourceDefinition")));
}

#[test]
fn cronjob_pod_template_and_ingress_backends() {
    let text = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: nightly}}
        spec:
          containers: [{name: c, image: x, args: ["--target=reports:8080"]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: nginx
  rules:
    - http:
        paths:
          - path: /
            backend: {service: {name: frontend, port: {number: 80}}}
"#;
    let inv = inv(text);
    assert_eq!(inv.workloads[0].kind, WorkloadKind::CronJob);
    assert_eq!(
        inv.workloads[0].containers[0].args[0].text,
        "--target=reports:8080"
    );
    assert_eq!(inv.ingresses[0].backends[0].service, "frontend");
    assert_eq!(inv.ingresses[0].backends[0].port, Some(PortRef::Number(80)));
}

#[test]
fn objects_of_an_unused_kind_make_one_note_at_the_first() {
    let pdb = |name: &str| {
        format!("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}}}\n")
    };
    let text = format!(
        "{}---\n{}---\n{}---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: a}}\n",
        pdb("a"),
        pdb("b"),
        pdb("c")
    );
    let inv = inv(&text);
    let notes: Vec<(u32, &str)> = inv
        .notes
        .iter()
        .map(|n| (n.origin.line, n.message.as_str()))
        .collect();
    assert_eq!(
        notes,
        vec![
            (
                1,
                "skipped: PodDisruptionBudget is a kind meshsmith does not use (3 objects; the first is here)"
            ),
            (
                13,
                "skipped: HorizontalPodAutoscaler is a kind meshsmith does not use"
            ),
        ]
    );
}

#[test]
fn services_in_gives_one_namespaces_services_whatever_their_order_in_the_input() {
    let service = |ns: &str, name: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{selector: {{app: {name}}}, ports: [{{port: 80}}]}}\n")
    };
    let text = [
        service("shop", "web"),
        service("a", "x"),
        service("shop-2", "api"),
        service("shop", "api"),
        service("z", "y"),
    ]
    .join("---\n");
    let inv = inv(&text);
    let names = |ns: &str| -> Vec<String> {
        inv.services_in(ns)
            .iter()
            .map(|s| format!("{}/{}", s.namespace, s.name))
            .collect()
    };
    assert_eq!(names("shop"), ["shop/api", "shop/web"]);
    assert_eq!(names("shop-2"), ["shop-2/api"]);
    assert_eq!(names("a"), ["a/x"]);
    assert_eq!(names("z"), ["z/y"]);
    assert!(names("sho").is_empty());
    assert!(names("").is_empty());
    assert!(names("zz").is_empty());
}

#[test]
fn objects_of_a_kind_not_used_are_one_warning_across_files() {
    let widget = |name: &str| {
        format!("apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: {name}}}\n")
    };
    let part = |file: &str, text: &str| {
        let loaded = load_text(file, text, &Limits::default()).unwrap();
        collect(&loaded.objects, "default")
    };
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
    let merged = merge(vec![
        part("a.yaml", &format!("{service}---\n{}", widget("w1"))),
        part("b.yaml", &widget("w2")),
    ]);
    assert_eq!(merged.services.len(), 1);
    let skipped: Vec<&Note> = merged
        .notes
        .iter()
        .filter(|n| n.message.starts_with(SKIPPED))
        .collect();
    assert_eq!(skipped.len(), 1, "{:?}", merged.notes);
    assert_eq!(skipped[0].level, NoteLevel::Warning);
    assert_eq!(skipped[0].origin.to_string(), "a.yaml:5");
    assert_eq!(
        skipped[0].message,
        "skipped: Widget is a kind meshsmith does not use (2 objects; the first is here)"
    );
}
