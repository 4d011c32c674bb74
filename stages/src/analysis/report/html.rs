//! The self-contained `report.html`: figures inlined as SVG, tables as HTML tables.

use std::fmt::Write as _;

use super::metrics_table::{Table, NOT_SIGNIFICANT, SIGNIFICANT};

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

/// A table cell as HTML: the study's emoji marks become words, which every font shows (a browser
/// without an emoji font draws the marks as boxes).
fn cell_html(cell: &str) -> String {
    match cell {
        SIGNIFICANT => "<span class=\"yes\">yes</span>".to_string(),
        NOT_SIGNIFICANT => "<span class=\"no\">no</span>".to_string(),
        other => escape(other),
    }
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
         th{{background:#eee}}\n.yes{{color:#1a7f37;font-weight:bold}}\n.no{{color:#888}}\n.fig{{display:inline-block;vertical-align:top;margin:.5em}}\n\
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
                        let _ = write!(out, "<{tag}>{}</{tag}>", cell_html(cell));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significance_marks_are_words_in_the_page() {
        let table = Table {
            name: "t".into(),
            title: "a vs b".into(),
            rows: vec![
                vec!["Metric".into(), "< 0.05".into()],
                vec!["F1".into(), SIGNIFICANT.into()],
                vec!["MCC".into(), NOT_SIGNIFICANT.into()],
            ],
        };
        let html = page("study", &[Section::Table(table)]);
        assert!(
            html.contains("<td><span class=\"yes\">yes</span></td>"),
            "{html}"
        );
        assert!(
            html.contains("<td><span class=\"no\">no</span></td>"),
            "{html}"
        );
        assert!(html.contains("<th>&lt; 0.05</th>"), "{html}");
        assert!(!html.contains(SIGNIFICANT) && !html.contains(NOT_SIGNIFICANT));
    }
}
