//! The self-contained `report.html`: figures inlined as SVG, tables as HTML tables.

use std::fmt::Write as _;

use super::metrics_table::Table;

/// One section of the report.
pub enum Section {
    /// A heading.
    Heading(String),
    /// An inline SVG figure.
    Figure(String),
    /// A table.
    Table(Table),
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report page titled `title` with `sections` in order.
pub fn page(title: &str, sections: &[Section]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>\nbody{{font-family:'DejaVu Sans',sans-serif;margin:2em;color:#222}}\n\
         table{{border-collapse:collapse;margin:1em 0}}\n\
         th,td{{padding:.3em .8em;text-align:right;border-bottom:1px solid #ddd}}\n\
         th{{background:#eee}}\n.fig{{display:inline-block;vertical-align:top;margin:.5em}}\n\
         </style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    for section in sections {
        match section {
            Section::Heading(h) => {
                let _ = writeln!(out, "<h2>{}</h2>", escape(h));
            }
            Section::Figure(svg) => {
                let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
                let _ = writeln!(out, "<div class=\"fig\">\n{body}\n</div>");
            }
            Section::Table(t) => {
                let _ = writeln!(out, "<h3>{}</h3>\n<table>", escape(&t.title));
                for (i, row) in t.rows.iter().enumerate() {
                    let tag = if i == 0 { "th" } else { "td" };
                    out.push_str("<tr>");
                    for cell in row {
                        let _ = write!(out, "<{tag}>{}</{tag}>", escape(cell));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}
