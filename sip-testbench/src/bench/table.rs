//! Prints result tables as Markdown, so a run's output can go into docs/benchmarks.md as is.

/// Formats `rows` under `headers`, columns padded to their widest cell.
pub fn markdown(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        out += &line(row.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let text = markdown(
            &["rate", "failed"],
            &[
                vec!["1000".into(), "0".into()],
                vec!["50".into(), "12".into()],
            ],
        );
        assert_eq!(
            text,
            "| rate | failed |\n| ---- | ------ |\n| 1000 | 0      |\n| 50   | 12     |\n"
        );
    }
}
