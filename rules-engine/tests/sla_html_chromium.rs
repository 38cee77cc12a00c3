//! The HTML SLA report rendered by Debian's headless Chromium: it loads
//! with its title, and the screenshot is not blank and shows the chart's
//! colours (so the inline SVG rendered). The PNG is kept as a test
//! artefact in `target/tmp/sla-report/` for a person to look at.
//!
//! The page is the golden October report (`tests/sla_golden/october.html`,
//! which `sla_report`'s golden test keeps equal to the renderer's output).

use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1100;
const HEIGHT: u32 = 2400;

fn golden_html() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sla_golden/october.html")
}

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's `chromium` package (scripts/test does)"
    );
    Command::new(CHROMIUM)
        .args([
            "--headless",
            // CI runs as root, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium")
}

/// Pixels of `png` as RGB triples.
fn rgb_pixels(png_path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::fs::File::open(png_path).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "unexpected colour type {:?}",
        info.color_type
    );
    let px = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

#[test]
fn html_report_renders_in_chromium() {
    let html = golden_html();
    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().unwrap();

    let dom = chromium(profile.path(), &["--dump-dom", &url]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("<title>SLA report 2026-10</title>"),
        "chromium did not load the report: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(dom_text.contains("<svg class=\"chart\""));

    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sla-report");
    std::fs::create_dir_all(&out_dir).unwrap();
    let shot = out_dir.join("october.png");
    let _ = std::fs::remove_file(&shot);
    let run = chromium(
        profile.path(),
        &[
            &format!("--window-size={WIDTH},{HEIGHT}"),
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (w, h, px) = rgb_pixels(&shot);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    let non_white = px.iter().filter(|p| p.iter().any(|&c| c < 240)).count();
    assert!(
        non_white * 100 > px.len(),
        "the page looks blank: {non_white} of {} pixels not white",
        px.len()
    );
    // The chart's met (green) and missed (red) bars, as the HTML writes them.
    for (name, rgb) in [("green", [0x2e, 0x7d, 0x32]), ("red", [0xc6, 0x28, 0x28])] {
        let n = px.iter().filter(|p| **p == rgb).count();
        assert!(n > 500, "{name} bars missing: {n} pixels of {rgb:?}");
    }
    println!("screenshot: {}", shot.display());
}
