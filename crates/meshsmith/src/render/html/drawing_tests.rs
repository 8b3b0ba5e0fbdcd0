//! The drawing: where clusters and nodes go, what a folded drawing hides.

use super::*;

fn spec(key: &str) -> NodeSpec {
    NodeSpec {
        data: vec![("service", key.to_string())],
        label: key.to_string(),
        sub: "sync-api · http".to_string(),
        class: String::new(),
        tooltip: key.to_string(),
        unknown_callers: false,
    }
}

fn two_clusters(folded: bool) -> Drawing {
    Drawing {
        id: "g".into(),
        clusters: vec![
            ClusterSpec {
                key: "a".into(),
                title: "a".into(),
                folded: "2 services".into(),
                nodes: vec![spec("x"), spec("y")],
                last: false,
            },
            ClusterSpec {
                key: "b".into(),
                title: "b".into(),
                folded: "1 service".into(),
                nodes: vec![spec("z")],
                last: false,
            },
        ],
        edges: vec![
            EdgeSpec {
                from: (0, 0),
                to: (0, 1),
                class: "ev-high".into(),
                data: vec![],
                tooltip: "x -> y".into(),
            },
            EdgeSpec {
                from: (0, 1),
                to: (1, 0),
                class: "ev-low".into(),
                data: vec![],
                tooltip: "y -> z".into(),
            },
        ],
        folded,
        foldable: true,
    }
}

#[test]
fn callers_cluster_and_node_sit_left_of_their_callees() {
    let svg = draw(&two_clusters(false));
    let x_of = |key: &str| -> i64 {
        let at = svg
            .find(&format!("data-service=\"{key}\""))
            .expect("node drawn");
        let rest = &svg[at..];
        let x = rest.split("data-x=\"").nth(1).expect("x");
        x.split('"')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("number")
    };
    assert!(x_of("x") < x_of("y"));
    let col = |c: &str| svg.contains(&format!("data-cluster=\"{c}\" data-col="));
    assert!(col("a") && col("b"));
    assert!(
        svg.find("data-cluster=\"a\" data-col=\"0\"").is_some(),
        "{svg}"
    );
    assert!(
        svg.find("data-cluster=\"b\" data-col=\"1\"").is_some(),
        "{svg}"
    );
    assert_eq!(svg.matches("<path class=\"edge").count(), 2);
    assert!(!svg.contains(" gone"));
}

#[test]
fn a_folded_drawing_hides_the_edges_inside_a_cluster_only() {
    let svg = draw(&two_clusters(true));
    assert_eq!(svg.matches(" gone\"").count(), 1, "{svg}");
    assert!(svg.contains("class=\"members folded\""));
}

#[test]
fn placement_centres_columns_and_stacks_by_rank() {
    let slot = |col, rank, h| Slot {
        col,
        rank,
        w: 100,
        h,
    };
    let (at, w, h) = place(&[slot(0, 1, 50), slot(0, 0, 50), slot(1, 0, 40)]);
    assert_eq!(at[1], (MARGIN, MARGIN));
    assert_eq!(at[0], (MARGIN, MARGIN + 50 + GAP_Y));
    assert_eq!(at[2].0, MARGIN + 100 + GAP_X);
    assert_eq!(at[2].1, MARGIN + (130 - 40) / 2);
    assert_eq!(
        (w, h),
        (MARGIN + 100 + GAP_X + 100 + MARGIN, 130 + 2 * MARGIN)
    );
}

#[test]
fn long_layers_wrap_into_columns() {
    let nodes = (0..40).map(|i| spec(&format!("n{i}"))).collect();
    let d = Drawing {
        id: "g".into(),
        clusters: vec![ClusterSpec {
            key: "a".into(),
            title: "a".into(),
            folded: String::new(),
            nodes,
            last: false,
        }],
        edges: vec![],
        folded: false,
        foldable: false,
    };
    let inside = inside(&d, 0);
    let cols: std::collections::BTreeSet<i64> = inside.at.iter().map(|a| a.0).collect();
    let rows: std::collections::BTreeSet<i64> = inside.at.iter().map(|a| a.1).collect();
    assert_eq!(cols.len(), 3);
    assert!(rows.len() <= MAX_ROWS);
    let mut all = inside.at.clone();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 40, "no two nodes share a place");
}

#[test]
fn labels_are_clipped_with_an_ellipsis() {
    assert_eq!(clip("abcdef", 4), "abc…");
    assert_eq!(clip("abc", 4), "abc");
}
