//! A time interval's `location` looked up as Go's `time.LoadLocation`
//! (Alertmanager's) does: `UTC` or empty, `Local`, or a file of the
//! host's zone database (`$ZONEINFO`, `/usr/share/zoneinfo/`, ...). The
//! zone's rules come from chrono-tz under the file's canonical name, so
//! the names Debian's tzdata adds resolve too: `posix/Europe/Berlin` (a
//! copy of `Europe/Berlin`), `right/Europe/Berlin` (the same zone with
//! leap seconds counted, which chrono-tz cannot; its clock is the plain
//! zone's, at most 27 s apart), links such as `posixrules`, and
//! `Factory` (UTC). As in Go, a name with `..` or a leading `/` is
//! refused, and so is a file that is not a zone.

use std::path::{Path, PathBuf};

/// Go's zone database directories, after `$ZONEINFO`.
const ZONE_DIRS: [&str; 4] = [
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo/",
];

/// What a location name means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Utc,
    Local,
    Tz(chrono_tz::Tz),
}

/// `name` as Go's `time.LoadLocation` finds it; the error is Go's.
pub fn load_location(name: &str) -> Result<Zone, String> {
    match name {
        "" | "UTC" => return Ok(Zone::Utc),
        "Local" => return Ok(Zone::Local),
        _ => {}
    }
    if name.split(['/', '\\']).any(|p| p == "..") || name.starts_with(['/', '\\']) {
        return Err("time: invalid location name".into());
    }
    if let Some(z) = known(name) {
        return Ok(z);
    }
    let dirs = std::env::var("ZONEINFO")
        .ok()
        .filter(|z| !z.is_empty())
        .into_iter()
        .chain(ZONE_DIRS.iter().map(|d| d.to_string()));
    let mut first_err = None;
    for dir in dirs {
        match from_file(Path::new(&dir), name) {
            Ok(Some(z)) => return Ok(z),
            Ok(None) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| format!("unknown time zone {name}")))
}

/// A name chrono-tz knows, with Debian's `posix/` and `right/` trees and
/// `Factory` resolved.
fn known(name: &str) -> Option<Zone> {
    let mut n = name;
    while let Some(rest) = n
        .strip_prefix("posix/")
        .or_else(|| n.strip_prefix("right/"))
    {
        n = rest;
    }
    match n {
        "Factory" => Some(Zone::Utc),
        "UTC" => Some(Zone::Tz(chrono_tz::UTC)),
        _ => n.parse().ok().map(Zone::Tz),
    }
}

/// The zone of `dir/name` when that file exists: `None` when it does not
/// (Go then tries the next directory), an error when it is not a zone.
fn from_file(dir: &Path, name: &str) -> Result<Option<Zone>, String> {
    let path = dir.join(name);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory || path.is_dir() => {
            return Err(format!("read {}: is a directory", path.display()));
        }
        Err(e) => return Err(format!("read {}: {e}", path.display())),
    };
    if !data.starts_with(b"TZif") {
        return Err("malformed time zone information".into());
    }
    // A link (`posixrules`, `localtime`): the zone it names.
    let real: PathBuf = std::fs::canonicalize(&path).unwrap_or(path);
    if real == Path::new("/etc/localtime") {
        return Ok(Some(Zone::Local));
    }
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let rel = real
        .strip_prefix(&root)
        .ok()
        .map(|r| r.to_string_lossy().into_owned());
    Ok(Some(
        rel.as_deref()
            .and_then(known)
            .ok_or_else(|| format!("unknown time zone {name}"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_as_in_go() {
        let berlin = Zone::Tz(chrono_tz::Europe::Berlin);
        assert_eq!(load_location("Europe/Berlin"), Ok(berlin));
        assert_eq!(load_location("posix/Europe/Berlin"), Ok(berlin));
        assert_eq!(load_location("right/Europe/Berlin"), Ok(berlin));
        assert_eq!(load_location("Factory"), Ok(Zone::Utc));
        assert_eq!(load_location(""), Ok(Zone::Utc));
        assert_eq!(load_location("Local"), Ok(Zone::Local));
        for bad in [
            "../zoneinfo/UTC",
            "/usr/share/zoneinfo/UTC",
            "Europe/../UTC",
        ] {
            assert_eq!(
                load_location(bad),
                Err("time: invalid location name".into()),
                "{bad}"
            );
        }
        assert!(load_location("Mars/Olympus").is_err());
        assert!(load_location("europe/berlin").is_err());
    }

    #[test]
    fn files_of_the_zone_database() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Area")).unwrap();
        std::fs::write(dir.path().join("zone.tab"), "# not a zone\n").unwrap();
        std::fs::write(dir.path().join("Asia-Tokyo"), b"TZif2...").unwrap();
        std::fs::create_dir(dir.path().join("Asia")).unwrap();
        std::fs::write(dir.path().join("Asia/Tokyo"), b"TZif2...").unwrap();
        std::os::unix::fs::symlink("Asia/Tokyo", dir.path().join("rules")).unwrap();
        let z = |n: &str| from_file(dir.path(), n);
        assert_eq!(z("missing"), Ok(None));
        assert!(z("Area").unwrap_err().contains("is a directory"));
        assert_eq!(z("zone.tab"), Err("malformed time zone information".into()));
        assert_eq!(z("rules"), Ok(Some(Zone::Tz(chrono_tz::Asia::Tokyo))));
        // A zone file whose name chrono-tz does not know.
        assert!(z("Asia-Tokyo").unwrap_err().contains("unknown time zone"));
    }
}
