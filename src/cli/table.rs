//! Width-aware text tables for the terminal: columns padded by display width, and the widest cut with "…" so no line is wider than the terminal.

use console::{measure_text_width, truncate_str};

/// The width to fit output into: `COLUMNS` when set, else the terminal's
/// width when stdout is one, else none (a pipe or a file gets every character).
pub(crate) fn width() -> Option<usize> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(c);
    }
    console::Term::stdout()
        .size_checked()
        .map(|(_, cols)| usize::from(cols))
}

/// Lays out `rows` as lines: each starts with `indent` spaces, columns are
/// separated by two spaces, and no line is wider than `width` (when given).
/// Columns listed in `shrink`, most expendable first, are cut to make room
/// (never below `MIN` characters); the last column is not padded.
pub(crate) fn lines(
    rows: &[Vec<String>],
    indent: usize,
    width: Option<usize>,
    shrink: &[usize],
) -> Vec<String> {
    const GAP: usize = 2;
    const MIN: usize = 8;
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths: Vec<usize> = (0..ncols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| measure_text_width(s))
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some(limit) = width {
        let total =
            |w: &[usize]| indent + w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
        // Cut the most expendable column down to its minimum first, then the next.
        for &c in shrink {
            let over = total(&widths).saturating_sub(limit);
            if over == 0 {
                break;
            }
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).saturating_sub(over).max(MIN.min(*w));
            }
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = " ".repeat(indent);
            for (c, cell) in row.iter().enumerate() {
                let w = widths[c];
                let cut = truncate_str(cell, w, "…");
                line.push_str(&cut);
                if c + 1 < row.len() {
                    line.push_str(&" ".repeat(w - measure_text_width(&cut) + GAP));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_line_up_by_display_width_and_fit_the_width() {
        let rows = vec![
            row(&[
                "API",
                "railway",
                "project 3f2a9c1e-6b7d-4e2a-9c51-0d8e7f6a5b41 (production)",
                "key acme-railway",
            ]),
            row(&[
                "Café ✓ 日本",
                "sentry",
                "acme/shop",
                "key env:SENTRY_TOKEN, disabled",
            ]),
        ];
        let wide = lines(&rows, 2, None, &[3, 2, 0]);
        // Unlimited: nothing is cut, and the third column starts at the same place.
        assert!(wide[0].contains("0d8e7f6a5b41 (production)"));
        // Where the third column starts, in display columns.
        let col = |l: &str| {
            let at = l.find("project").or_else(|| l.find("acme/")).unwrap();
            measure_text_width(&l[..at])
        };
        assert_eq!(col(&wide[0]), col(&wide[1]));
        for limit in [100, 80, 60, 40] {
            let out = lines(&rows, 2, Some(limit), &[3, 2, 0]);
            for l in &out {
                assert!(measure_text_width(l) <= limit, "{l:?} wider than {limit}");
            }
            assert!(out[0].starts_with("  API"), "{out:?}");
            assert_eq!(
                col(&out[0]),
                col(&out[1]),
                "columns line up at {limit}: {out:#?}"
            );
        }
        let narrow = lines(&rows, 2, Some(60), &[3, 2, 0]);
        assert!(narrow[0].contains('…'), "{narrow:?}");
        assert!(!narrow[0].ends_with(' '));
    }
}
