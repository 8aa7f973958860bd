//! Warnings a careful user wants before fitting a density to a table: constant columns, columns
//! that look discrete, and many repeated rows. Each of them lets a flow's likelihood grow without
//! bound (it concentrates its mass on a point or a lattice), so a "good" number would mean nothing.

use std::collections::HashSet;

/// A column is flagged as discrete when it has at most one distinct value per this many rows.
const ROWS_PER_DISTINCT_VALUE: usize = 10;
/// Rows needed before the distinct-value count says anything.
const MIN_ROWS_FOR_DISCRETE: usize = 50;
/// Repeated rows above this fraction get a warning.
const DUPLICATE_FRACTION: f64 = 0.01;

/// The warnings for the data columns `data` (position, name) of the row-major `values`, `width`
/// columns a row, read from `file`. Repeated rows are rows equal on the data columns.
pub fn data_warnings(
    file: &str,
    values: &[f32],
    width: usize,
    data: &[(usize, String)],
) -> Vec<String> {
    let rows = values.len() / width;
    let mut warnings = Vec::new();
    for (j, name) in data {
        let j = *j;
        let column = values.iter().skip(j).step_by(width);
        let first = values[j];
        let label = format!("{file}: column {name:?}");
        if column.clone().all(|&v| v == first) {
            warnings.push(format!(
                "{label} is constant (every value {first}): a flow collapses onto it and the \
                 log-likelihood grows without bound; drop the column"
            ));
            continue;
        }
        let distinct = column
            .clone()
            .map(|v| v.to_bits())
            .collect::<HashSet<_>>()
            .len();
        let integer = column.clone().all(|v| v.fract() == 0.0);
        let lattice = rows >= MIN_ROWS_FOR_DISCRETE && distinct * ROWS_PER_DISTINCT_VALUE <= rows;
        if integer || lattice {
            let what = if integer {
                "is integer-valued"
            } else {
                "looks discrete"
            };
            warnings.push(format!(
                "{label} {what} ({distinct} distinct values in {rows} rows): a density on a \
                 lattice is not a density and its log-likelihood can grow without bound; \
                 dequantise it (add uniform noise of one lattice step, e.g. U[0, 1) to integers) \
                 or model it as a context column"
            ));
        }
    }
    let mut seen = HashSet::with_capacity(rows);
    let repeated = (0..rows)
        .filter(|&i| {
            let row: Vec<u32> = data
                .iter()
                .map(|(j, _)| values[i * width + j].to_bits())
                .collect();
            !seen.insert(row)
        })
        .count();
    if repeated as f64 > DUPLICATE_FRACTION * rows as f64 {
        warnings.push(format!(
            "{file}: {repeated} of {rows} rows ({:.1}%) repeat an earlier row: a flow can put \
             unbounded density on repeated points; deduplicate, or dequantise if the data are \
             rounded",
            100.0 * repeated as f64 / rows as f64
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<(usize, String)> {
        (0..n).map(|j| (j, format!("x{j}"))).collect()
    }

    #[test]
    fn continuous_distinct_data_give_no_warning() {
        let values: Vec<f32> = (0..200)
            .map(|i| (i as f32 * 0.37).sin() * 3.1 + 0.01)
            .collect();
        assert!(data_warnings("f", &values, 2, &names(2)).is_empty());
    }

    #[test]
    fn constant_integer_discrete_and_duplicate_columns_are_named() {
        // Column 0 constant, column 1 integer, column 2 on a lattice of 0.5, column 3 continuous.
        let rows = 100;
        let mut values = Vec::new();
        for i in 0..rows {
            values.extend([
                2.0,
                (i % 7) as f32,
                0.5 * (i % 5) as f32 + 0.25,
                (i as f32 * 0.731).sin() + 1e-3 * i as f32,
            ]);
        }
        let w = data_warnings("train.csv", &values, 4, &names(4));
        assert_eq!(w.len(), 3, "{w:#?}");
        assert!(w[0].contains("\"x0\" is constant"));
        assert!(w[1].contains("\"x1\" is integer-valued (7 distinct values in 100 rows)"));
        assert!(w[2].contains("\"x2\" looks discrete (5 distinct values"));

        let mut dup: Vec<f32> = (0..100).map(|i| i as f32 * 0.013 + 0.001).collect();
        let first_row = [dup[0], dup[1]];
        dup.extend_from_slice(&first_row); // row 50 repeats row 0
        let w = data_warnings("d.csv", &dup, 2, &names(2));
        assert_eq!(w.len(), 1, "{w:#?}");
        assert!(w[0].contains("1 of 51 rows"), "{w:#?}");
    }
}
