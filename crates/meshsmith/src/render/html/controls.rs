//! The graph's controls and keys: the toolbar (expand and collapse, zoom, find, the
//! namespace picker past one picture), the arrowheads every picture shares, and the legend.

use super::esc;
use super::picture::namespaces;
use meshsmith_core::model::Topology;
use std::fmt::Write as _;

pub fn toolbar(out: &mut String, t: &Topology, one: bool) {
    out.push_str("<div class=\"toolbar\">");
    if one {
        out.push_str(
            "<button type=\"button\" data-act=\"expand\">Expand all</button>\
             <button type=\"button\" data-act=\"collapse\">Collapse all</button>",
        );
    } else {
        out.push_str("<select id=\"ns-pick\"><option value=\"\">Pick a namespace</option>");
        for ns in namespaces(t) {
            let _ = write!(out, "<option>{}</option>", esc(ns));
        }
        out.push_str("</select>");
    }
    out.push_str(
        "<button type=\"button\" data-act=\"zoom-out\" title=\"Zoom out\">−</button>\
         <button type=\"button\" data-act=\"zoom-in\" title=\"Zoom in\">+</button>\
         <button type=\"button\" data-act=\"fit\">Fit</button>\
         <input type=\"search\" id=\"find\" placeholder=\"Find a service\" list=\"service-names\" autocomplete=\"off\">\
         <datalist id=\"service-names\">",
    );
    for s in &t.services {
        let _ = write!(out, "<option value=\"{}\">", esc(&s.id.to_string()));
    }
    out.push_str("</datalist></div>");
}

/// Arrowheads, one per protocol colour, shared by every picture of the page.
pub fn markers(out: &mut String) {
    out.push_str("<svg class=\"defs\" aria-hidden=\"true\"><defs>");
    for (name, colour) in [
        ("http", "#3d6fb6"),
        ("grpc", "#8a43c0"),
        ("http2", "#1f8a8a"),
        ("tcp", "#9a6324"),
        ("tls", "#6b6f2a"),
        ("unknown", "#808890"),
    ] {
        let _ = write!(
            out,
            "<marker id=\"arrow-{name}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" \
             markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{colour}\"/></marker>"
        );
    }
    out.push_str("</defs></svg>");
}

pub fn legend(out: &mut String) {
    out.push_str(
        "<div class=\"legend\" aria-label=\"legend\">\
         <span><svg width=\"44\" height=\"12\"><path class=\"edge ev-high p-http\" d=\"M2 6H42\"/></svg>call in the manifests</span>\
         <span><svg width=\"44\" height=\"12\"><path class=\"edge ev-low p-http\" d=\"M2 6H42\"/></svg>low confidence</span>\
         <span><svg width=\"44\" height=\"12\"><path class=\"edge ev-observed p-http\" d=\"M2 6H42\"/></svg>observed in traffic</span>\
         <span><svg width=\"44\" height=\"12\"><path class=\"edge ev-external p-http\" d=\"M2 6H42\"/></svg>to a host outside</span>\
         <span><svg width=\"44\" height=\"14\"><path class=\"unknown\" d=\"M4 2L40 12\"/></svg>callers not known</span>\
         <span class=\"swatch p-http\">HTTP</span><span class=\"swatch p-grpc\">gRPC</span>\
         <span class=\"swatch p-http2\">HTTP/2</span><span class=\"swatch p-tcp\">TCP</span>\
         <span class=\"swatch p-tls\">TLS</span><span class=\"swatch p-unknown\">unknown</span>\
         <span class=\"key dry-run\">authorization in dry-run</span>\
         <span class=\"key permissive\">mTLS exception (PERMISSIVE)</span>\
         </div>",
    );
}
