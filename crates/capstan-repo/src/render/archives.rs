//! Chart archives (`charts/*.tgz`) checked for their expanded size before Helm reads them, as Argo
//! CD's `--helm-manifest-max-extracted-size` does (default 1G): a small archive that expands to
//! gigabytes (a "tar bomb") is refused instead of filling memory or disk.

use std::io::Read;
use std::path::Path;

/// Most archives looked at under one chart.
const MAX_ARCHIVES: usize = 1_000;

/// Checks every `.tgz` / `.tar.gz` archive under `chart_dir/charts` (and the `charts` directories
/// of unpacked sub-charts). `limit` is the most bytes one archive may expand to; `None` disables the
/// check. The error names the archive (relative to the chart) and the limit.
pub fn check_chart_archives(chart_dir: &Path, limit: Option<u64>) -> Result<(), String> {
    let Some(limit) = limit else {
        return Ok(());
    };
    let mut stack = vec![chart_dir.join("charts")];
    let mut seen = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ARCHIVES {
                return Err(format!(
                    "chart has more than {MAX_ARCHIVES} entries under charts/"
                ));
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path.join("charts"));
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
            if !(name.ends_with(".tgz") || name.ends_with(".tar.gz")) {
                continue;
            }
            let shown = path
                .strip_prefix(chart_dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            let expanded = expanded_size(&path, limit)
                .map_err(|e| format!("chart archive {shown}: cannot be read: {e}"))?;
            if expanded > limit {
                return Err(format!(
                    "chart archive {shown} expands to more than the maximum of {limit} bytes \
                     (--helm-manifest-max-extracted-size)"
                ));
            }
        }
    }
    Ok(())
}

/// Bytes the gzip stream of `path` expands to, counting at most `limit + 1`.
fn expanded_size(path: &Path, limit: u64) -> std::io::Result<u64> {
    let file = std::fs::File::open(path)?;
    let decoder = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut limited = decoder.take(limit.saturating_add(1));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip_zeros(path: &Path, bytes: usize) {
        let file = std::fs::File::create(path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        let chunk = vec![0u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            gz.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        gz.finish().unwrap();
    }

    #[test]
    fn archives_over_the_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("charts/sub/charts")).unwrap();
        gzip_zeros(&dir.path().join("charts/small-1.0.0.tgz"), 1000);
        assert_eq!(check_chart_archives(dir.path(), Some(10_000)), Ok(()));
        gzip_zeros(
            &dir.path().join("charts/sub/charts/bomb-1.0.0.tgz"),
            8 << 20,
        );
        let compressed = std::fs::metadata(dir.path().join("charts/sub/charts/bomb-1.0.0.tgz"))
            .unwrap()
            .len();
        assert!(compressed < 64 * 1024, "{compressed}");
        let err = check_chart_archives(dir.path(), Some(1 << 20)).unwrap_err();
        assert!(err.contains("charts/sub/charts/bomb-1.0.0.tgz"), "{err}");
        assert_eq!(check_chart_archives(dir.path(), None), Ok(()));
        std::fs::write(dir.path().join("charts/bad.tgz"), b"not gzip").unwrap();
        assert!(check_chart_archives(dir.path(), Some(1 << 30)).is_err());
    }
}
