//! `vigil route show` side by side with `amtool config routes show`
//! (Alertmanager 0.25) on every routing tree of the data files: the same
//! text, line for line.

use std::path::Path;
use std::process::Command;

use vigil::route::cli::route_show;
use vigil::route::load_file;

#[test]
fn route_show_matches_amtool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/route/trees");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "yml") {
            continue;
        }
        let loaded = load_file(&p).unwrap();
        let (ours, code) = route_show(&loaded);
        assert_eq!(code, 0);
        let out = Command::new("amtool")
            .args(["config", "routes", "show"])
            .arg(format!("--config.file={}", p.display()))
            .output()
            .expect("amtool not found: install Debian's prometheus-alertmanager");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            ours,
            String::from_utf8(out.stdout).unwrap(),
            "{}",
            p.display()
        );
        n += 1;
    }
    assert!(n > 0);
}
