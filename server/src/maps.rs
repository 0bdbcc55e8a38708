//! Maps are data, not code: JSON files in `assets/maps/` embedded in the binary, plus any that an
//! operator adds with `--maps DIR`. Each is validated on load so that a bad file stops the server
//! at start-up with a message naming the file and the problem, never mid-match.
//!
//! # Format
//!
//! One JSON object per file (`*.json`), all lengths in world units, (0, 0) the top-left corner,
//! +y pointing down the screen:
//!
//! ```json
//! {
//!   "name": "arena",
//!   "rotation": true,
//!   "size": [2400, 1600],
//!   "obstacles": [[1120, 720, 160, 160], [520, 380, 120, 120]],
//!   "spawns": [[150, 150], [2250, 1450]],
//!   "pickups": [[1200, 520], [580, 800]]
//! }
//! ```
//!
//! - `name`: 1 to 32 of `A-Z a-z 0-9 - _`; what `--map` and the rotation use. A file in `--maps
//!   DIR` with the name of a built-in map replaces it.
//! - `size`: `[width, height]`, finite, each at least `MIN_MAP_SIDE` and at most `MAX_MAP_SIDE`.
//! - `obstacles`: solid rectangles `[x, y, width, height]` (top-left corner and size), inside the
//!   arena, width and height positive. Ships slide along them and bullets stop at them.
//! - `spawns`: ship centres `[x, y]`; at least one. A ship there must fit inside the arena and
//!   touch no obstacle.
//! - `pickups`: pickup centres `[x, y]` (may be empty); inside the arena, touching no obstacle.
//! - `rotation`: optional, default `true`. `false` keeps the map out of the default rotation: it
//!   is played only when `--map` names it, and then it is the whole rotation (a map built for
//!   thousands of players, such as `expanse`, should not come round in a normal match, and a
//!   server started for it should not leave it).
//!
//! Unknown fields are errors (a typo such as `"spawn"` would otherwise silently drop data).
//! The rotation plays the maps with `"rotation": true` in name order, starting from `--map`
//! (default: the first).

use std::path::Path;
use std::sync::Arc;

use glam::Vec2;
use rust_embed::RustEmbed;
use serde::Deserialize;
use skirmish_shared::sim::circle_hits_rect;
use skirmish_shared::tuning::{PICKUP_RADIUS, SHIP_RADIUS};
use skirmish_shared::{MapInfo, Rect};

/// Smallest arena side: room for a few ships.
pub const MIN_MAP_SIDE: f32 = 8.0 * SHIP_RADIUS;
/// Largest arena side: far beyond any sensible map, it keeps numbers in a comfortable f32 range.
pub const MAX_MAP_SIDE: f32 = 100_000.0;
/// Most obstacles, spawns or pickup spots in one map: every obstacle goes to each client in
/// `MatchInfo`, and spawn selection scans all spawns.
pub const MAX_MAP_ITEMS: usize = 1000;
/// Most bytes a map file may hold: a map of the most items there may be, written out at length,
/// is a few hundred KB. A bigger file was read and parsed whole (3.3 times its size in memory)
/// before its counts were checked (from an outside test of a map maker).
pub const MAX_MAP_FILE_BYTES: u64 = 1 << 20;

/// The built-in maps: `assets/maps/*.json`, found relative to this crate, never the working
/// directory.
#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../assets/maps/"]
struct BuiltinMaps;

/// A validated map.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// Unique name (see the module docs).
    pub name: String,
    /// Arena size.
    pub size: Vec2,
    /// Solid rectangles.
    pub obstacles: Vec<Rect>,
    /// Where ships (re)appear.
    pub spawns: Vec<Vec2>,
    /// Where pickups appear.
    pub pickups: Vec<Vec2>,
}

impl Map {
    /// Parses and validates one map; `file` names it in errors. The map alone: use
    /// [`MapFile::from_json`] to also learn whether the default rotation plays it.
    pub fn from_json(file: &str, json: &str) -> Result<Map, MapError> {
        MapFile::from_json(file, json).map(|f| f.map)
    }

    /// What clients get in `MatchInfo`: enough to draw the map and predict collisions.
    pub fn info(&self) -> MapInfo {
        MapInfo { name: self.name.clone(), size: self.size, obstacles: self.obstacles.clone() }
    }

    /// A map with no obstacles, spawn points on a grid and a few pickup spots: for tests and
    /// benches that do not care about the layout.
    pub fn open(name: &str, size: Vec2) -> Map {
        let spawns = (1..=3)
            .flat_map(|i| (1..=3).map(move |j| Vec2::new(size.x * i as f32 / 4.0, size.y * j as f32 / 4.0)))
            .collect();
        let pickups = vec![size * 0.125, size * 0.875, Vec2::new(size.x * 0.125, size.y * 0.875)];
        Map { name: name.to_owned(), size, obstacles: Vec::new(), spawns, pickups }
    }
}

/// What one map file says: the map, and whether the default rotation plays it. (Kept beside
/// [`Map`] rather than in it: the world needs only the map.)
#[derive(Debug, Clone, PartialEq)]
pub struct MapFile {
    /// The validated map.
    pub map: Map,
    /// The file's `"rotation"` (default true); false: played only when `--map` names it.
    pub in_rotation: bool,
}

impl MapFile {
    /// Parses and validates one map file; `file` names it in errors.
    pub fn from_json(file: &str, json: &str) -> Result<MapFile, MapError> {
        // The byte-order mark some editors (older Notepad) start a UTF-8 file with: the file
        // looks right in them, and the JSON parser read "expected value at line 1 column 1".
        let json = json.strip_prefix('\u{feff}').unwrap_or(json);
        // serde would also take the fields as a list, in order, with no names: not the format.
        if !json.trim_start().starts_with('{') {
            let problem = MapProblem::Json("a map file holds one JSON object, { \"name\": …, \"size\": … }".into());
            return Err(MapError::Invalid { file: file.to_owned(), problem });
        }
        let raw: RawMap = serde_json::from_str(json)
            .map_err(|e| MapError::Invalid { file: file.to_owned(), problem: MapProblem::Json(e.to_string()) })?;
        raw.validate().map_err(|problem| MapError::Invalid { file: file.to_owned(), problem })
    }
}

/// The map file as written, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMap {
    name: String,
    #[serde(default = "in_rotation_by_default")]
    rotation: bool,
    size: [f32; 2],
    #[serde(default)]
    obstacles: Vec<[f32; 4]>,
    spawns: Vec<[f32; 2]>,
    #[serde(default)]
    pickups: Vec<[f32; 2]>,
}

/// A map file without `"rotation"` is in the default rotation.
fn in_rotation_by_default() -> bool {
    true
}

impl RawMap {
    fn validate(self) -> Result<MapFile, MapProblem> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(MapProblem::BadName(self.name));
        }
        let size = Vec2::from(self.size);
        if !size.is_finite() || size.min_element() < MIN_MAP_SIDE || size.max_element() > MAX_MAP_SIDE {
            return Err(MapProblem::BadSize(self.size));
        }
        for (what, len) in
            [("obstacles", self.obstacles.len()), ("spawns", self.spawns.len()), ("pickups", self.pickups.len())]
        {
            if len > MAX_MAP_ITEMS {
                return Err(MapProblem::TooMany(what));
            }
        }
        let mut obstacles = Vec::with_capacity(self.obstacles.len());
        for (index, [x, y, w, h]) in self.obstacles.into_iter().enumerate() {
            let (min, dim) = (Vec2::new(x, y), Vec2::new(w, h));
            if !min.is_finite() || !dim.is_finite() || dim.min_element() <= 0.0 {
                return Err(MapProblem::BadObstacle(index));
            }
            let max = min + dim;
            if min.min_element() < 0.0 || max.x > size.x || max.y > size.y {
                return Err(MapProblem::ObstacleOutside(index));
            }
            obstacles.push(Rect { min, max });
        }
        if self.spawns.is_empty() {
            return Err(MapProblem::NoSpawns);
        }
        let check_point = |index: usize, p: Vec2, radius: f32, what: &'static str| {
            let inside = p.is_finite() && p.cmpge(Vec2::splat(radius)).all() && p.cmple(size - radius).all();
            if !inside {
                return Err(MapProblem::PointOutside { what, index });
            }
            if let Some(obstacle) = obstacles.iter().position(|r| circle_hits_rect(p, radius, r)) {
                return Err(MapProblem::PointInObstacle { what, index, obstacle });
            }
            Ok(p)
        };
        let spawns = self
            .spawns
            .into_iter()
            .enumerate()
            .map(|(i, p)| check_point(i, Vec2::from(p), SHIP_RADIUS, "spawn"))
            .collect::<Result<Vec<_>, _>>()?;
        let pickups = self
            .pickups
            .into_iter()
            .enumerate()
            .map(|(i, p)| check_point(i, Vec2::from(p), PICKUP_RADIUS, "pickup"))
            .collect::<Result<Vec<_>, _>>()?;
        let map = Map { name: self.name, size, obstacles, spawns, pickups };
        Ok(MapFile { map, in_rotation: self.rotation })
    }
}

/// What is wrong inside one map file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapProblem {
    /// Not JSON, or not the documented shape.
    #[error("not a valid map: {0}")]
    Json(String),
    /// Over [`MAX_MAP_FILE_BYTES`].
    #[error("the file is {0} bytes; a map file may be at most {MAX_MAP_FILE_BYTES}")]
    TooBig(u64),
    /// The name is empty, too long or has other characters than `A-Z a-z 0-9 - _`.
    #[error("name {0:?} must be 1 to 32 of A-Z a-z 0-9 - _")]
    BadName(String),
    /// The size is not finite or out of range.
    #[error("size {0:?} must be finite, each side from {MIN_MAP_SIDE} to {MAX_MAP_SIDE}")]
    BadSize([f32; 2]),
    /// More than [`MAX_MAP_ITEMS`] of something.
    #[error("more than {MAX_MAP_ITEMS} {0}")]
    TooMany(&'static str),
    /// An obstacle with a non-finite number or a width or height that is not positive.
    #[error("obstacle {0} must have finite numbers and a positive width and height")]
    BadObstacle(usize),
    /// An obstacle reaching outside the arena.
    #[error("obstacle {0} is not inside the arena")]
    ObstacleOutside(usize),
    /// No spawn point at all.
    #[error("no spawn points: at least one is needed")]
    NoSpawns,
    /// A spawn or pickup spot too close to (or past) the arena edge.
    #[error("{what} {index} is not inside the arena (with room for its radius)")]
    PointOutside {
        /// "spawn" or "pickup".
        what: &'static str,
        /// Its index in the file's list.
        index: usize,
    },
    /// A spawn or pickup spot touching an obstacle.
    #[error("{what} {index} touches obstacle {obstacle}")]
    PointInObstacle {
        /// "spawn" or "pickup".
        what: &'static str,
        /// Its index in the file's list.
        index: usize,
        /// The obstacle's index.
        obstacle: usize,
    },
}

/// Why the maps could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// A map file is bad.
    #[error("map file {file}: {problem}")]
    Invalid {
        /// The file (a path, or `builtin:NAME.json`).
        file: String,
        /// What is wrong.
        problem: MapProblem,
    },
    /// A file or directory could not be read.
    #[error("cannot read maps from {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// `--map` names a map that does not exist.
    #[error("no map named {name:?}; the maps are: {available}")]
    UnknownMap {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated.
        available: String,
    },
    /// No `--map` and every map has `"rotation": false`: nothing to start with.
    #[error("no map is in the default rotation (all have \"rotation\": false); choose one with --map: {available}")]
    NoRotation {
        /// The names there are, comma-separated.
        available: String,
    },
    /// `--map` names a map that `--rotation` leaves out.
    #[error("--map {name:?} is not in --rotation ({rotation})")]
    NotInRotation {
        /// The name asked for.
        name: String,
        /// The rotation, comma-separated.
        rotation: String,
    },
    /// Two files in one directory define the same map name.
    #[error("map file {file}: map {name:?} is also defined by {other}")]
    Duplicate {
        /// The later file.
        file: String,
        /// The name both define.
        name: String,
        /// The earlier file.
        other: String,
    },
}

/// The maps a server plays, in rotation order (by name), and where the rotation starts: the maps
/// in the default rotation, or only the one `--map` chose if that one is out of it.
#[derive(Debug, Clone)]
pub struct MapList {
    /// The rotation, in name order; never empty.
    maps: Vec<Arc<Map>>,
    /// Index in `maps` of the first map played.
    first: usize,
}

impl MapList {
    /// The built-in maps, plus (replacing same-named ones) every `*.json` in `extra_dir`, in
    /// the rotation that `first` (a map name, from `--map`) leads to: see [`MapList::from_files`].
    pub fn load(extra_dir: Option<&Path>, first: Option<&str>) -> Result<MapList, MapError> {
        MapList::load_rotation(extra_dir, first, &[])
    }

    /// [`MapList::load`], or with a non-empty `rotation` (`--rotation`, map names) exactly those
    /// maps in that order, whatever their files' `"rotation"` says, starting from `first` if
    /// given (it must be one of them).
    pub fn load_rotation(
        extra_dir: Option<&Path>,
        first: Option<&str>,
        rotation: &[String],
    ) -> Result<MapList, MapError> {
        let mut files = builtin_maps()?;
        if let Some(dir) = extra_dir {
            for file in load_dir(dir)? {
                files.retain(|f| f.map.name != file.map.name);
                files.push(file);
            }
        }
        if rotation.is_empty() {
            return MapList::from_files(files, first);
        }
        files.sort_by(|a, b| a.map.name.cmp(&b.map.name));
        let available = files.iter().map(|f| f.map.name.as_str()).collect::<Vec<_>>().join(", ");
        let maps = rotation
            .iter()
            .map(|name| {
                let file = files.iter().find(|f| &f.map.name == name);
                file.map(|f| Arc::new(f.map.clone()))
                    .ok_or_else(|| MapError::UnknownMap { name: name.clone(), available: available.clone() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let first = match first {
            None => 0,
            Some(name) => rotation
                .iter()
                .position(|r| r == name)
                .ok_or_else(|| MapError::NotInRotation { name: name.to_owned(), rotation: rotation.join(", ") })?,
        };
        Ok(MapList { maps, first })
    }

    /// A rotation of `maps` (sorted by name, all in the rotation) starting at `first`, or the
    /// first by name.
    pub fn new(maps: Vec<Map>, first: Option<&str>) -> Result<MapList, MapError> {
        MapList::from_files(maps.into_iter().map(|map| MapFile { map, in_rotation: true }).collect(), first)
    }

    /// The rotation `first` leads to: with no `first`, the maps in the default rotation from the
    /// first by name; with a map in it, the same from that map; with a map out of it, that map
    /// alone.
    pub fn from_files(mut files: Vec<MapFile>, first: Option<&str>) -> Result<MapList, MapError> {
        files.sort_by(|a, b| a.map.name.cmp(&b.map.name));
        let available = files.iter().map(|f| f.map.name.as_str()).collect::<Vec<_>>().join(", ");
        if files.is_empty() {
            // Unreachable with the built-in maps present; a clear error all the same.
            return Err(MapError::UnknownMap { name: first.unwrap_or("any").to_owned(), available: "none".into() });
        }
        let chosen = match first {
            None => None,
            Some(name) => Some(
                files
                    .iter()
                    .position(|f| f.map.name == name)
                    .ok_or_else(|| MapError::UnknownMap { name: name.to_owned(), available: available.clone() })?,
            ),
        };
        if let Some(i) = chosen
            && !files[i].in_rotation
        {
            return Ok(MapList::single(files.swap_remove(i).map));
        }
        let first_name = chosen.map(|i| files[i].map.name.clone());
        let maps: Vec<Arc<Map>> = files.into_iter().filter(|f| f.in_rotation).map(|f| Arc::new(f.map)).collect();
        if maps.is_empty() {
            return Err(MapError::NoRotation { available });
        }
        // A chosen map is in the rotation by now, so it is found.
        let first = first_name.and_then(|name| maps.iter().position(|m| m.name == name)).unwrap_or(0);
        Ok(MapList { maps, first })
    }

    /// A rotation of one map: what a map out of the default rotation gets when `--map` chooses
    /// it; also for tests and benches.
    pub fn single(map: Map) -> MapList {
        MapList { maps: vec![Arc::new(map)], first: 0 }
    }

    /// Index of the map the rotation starts with.
    pub fn first(&self) -> usize {
        self.first
    }

    /// Number of maps in the rotation (at least one).
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Never true: a list always holds a map. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// Map number `i`, wrapping around, so the rotation can simply count up.
    pub fn get(&self, i: usize) -> &Arc<Map> {
        &self.maps[i % self.maps.len()]
    }

    /// Names in rotation order.
    pub fn names(&self) -> Vec<&str> {
        self.maps.iter().map(|m| m.name.as_str()).collect()
    }
}

/// Every map in `assets/maps/`.
fn builtin_maps() -> Result<Vec<MapFile>, MapError> {
    let mut files: Vec<_> = BuiltinMaps::iter().filter(|f| f.ends_with(".json")).collect();
    files.sort();
    let mut maps = Vec::with_capacity(files.len());
    for file in files {
        let label = format!("builtin:{file}");
        let Some(data) = BuiltinMaps::get(&file) else { continue };
        let json = std::str::from_utf8(&data.data)
            .map_err(|_| MapError::Invalid { file: label.clone(), problem: MapProblem::Json("not UTF-8".into()) })?;
        maps.push(MapFile::from_json(&label, json)?);
    }
    Ok(maps)
}

/// Every `*.json` in `dir` (`.JSON` too), in file-name order; two files with one map name are an
/// error. Hidden files (a name starting with a dot, such as the `._name.json` macOS leaves on
/// other disks) are skipped, and so is what is not a file (a directory, a broken link), each
/// with a log line, as is a directory with no map at all: they were skipped without a word, or
/// (the macOS files) stopped the server (from an outside test of a map maker).
pub fn load_dir(dir: &Path) -> Result<Vec<MapFile>, MapError> {
    let io = |path: &Path, source| MapError::Io { path: path.display().to_string(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            continue;
        }
        let file = path.display().to_string();
        if path.file_name().is_some_and(|n| n.as_encoded_bytes().starts_with(b".")) {
            tracing::info!(file, "map file skipped: hidden (its name starts with a dot)");
        } else if !path.is_file() {
            tracing::warn!(file, "map file skipped: not a file (a directory, or a link to nothing)");
        } else {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        tracing::warn!(dir = %dir.display(), "no map files (*.json) in the maps directory: the built-in maps only");
    }
    paths.sort();
    let mut maps: Vec<(MapFile, String)> = Vec::with_capacity(paths.len());
    for path in paths {
        let file = path.display().to_string();
        let bytes = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        if bytes > MAX_MAP_FILE_BYTES {
            return Err(MapError::Invalid { file, problem: MapProblem::TooBig(bytes) });
        }
        let json = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let map = MapFile::from_json(&file, &json)?;
        if let Some((_, other)) = maps.iter().find(|(m, _)| m.map.name == map.map.name) {
            return Err(MapError::Duplicate { file, name: map.map.name, other: other.clone() });
        }
        tracing::info!(file, map = %map.map.name, rotation = map.in_rotation, "map file loaded");
        maps.push((map, file));
    }
    Ok(maps.into_iter().map(|(m, _)| m).collect())
}

#[cfg(test)]
mod tests {
    use skirmish_shared::consts::AOI_HALF_EXTENT;

    use super::*;

    const GOOD: &str = r#"{"name": "t", "size": [1000, 800], "obstacles": [[400, 300, 200, 100]],
        "spawns": [[100, 100], [900, 700]], "pickups": [[500, 600]]}"#;

    fn problem(json: &str) -> MapProblem {
        match Map::from_json("test.json", json) {
            Err(MapError::Invalid { file, problem }) => {
                assert_eq!(file, "test.json");
                problem
            }
            other => panic!("expected an invalid map, got {other:?}"),
        }
    }

    /// `GOOD` with one field replaced.
    fn with(field: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        v.to_string()
    }

    #[test]
    fn builtin_maps_load_and_are_big_with_enough_points() {
        let list = MapList::load(None, None).expect("built-in maps are valid");
        assert!(list.names().contains(&"arena") && list.names().contains(&"maze"), "{:?}", list.names());
        for i in 0..list.len() {
            let map = list.get(i);
            assert!(map.spawns.len() >= 8, "{}: {} spawns", map.name, map.spawns.len());
            assert!(map.pickups.len() >= 4, "{}: {} pickups", map.name, map.pickups.len());
            assert!(map.size.x > 1920.0 && map.size.y > 1080.0, "{} is bigger than a screen", map.name);
        }
    }

    #[test]
    fn a_good_map_loads() {
        let map = Map::from_json("test.json", GOOD).unwrap();
        assert_eq!(map.name, "t");
        assert_eq!(map.size, Vec2::new(1000.0, 800.0));
        assert_eq!(map.obstacles, [Rect { min: Vec2::new(400.0, 300.0), max: Vec2::new(600.0, 400.0) }]);
        assert_eq!(map.spawns.len(), 2);
        assert_eq!(map.pickups, [Vec2::new(500.0, 600.0)]);
        assert_eq!(map.info().obstacles, map.obstacles);
    }

    #[test]
    fn each_kind_of_bad_map_is_named() {
        assert!(matches!(problem("{"), MapProblem::Json(_)));
        assert!(matches!(problem(&with("spawn", "[]")), MapProblem::Json(e) if e.contains("spawn")));
        assert!(matches!(problem(&with("name", r#""a b""#)), MapProblem::BadName(_)));
        assert!(matches!(problem(&with("name", r#""""#)), MapProblem::BadName(_)));
        assert!(matches!(problem(&with("size", "[0, 800]")), MapProblem::BadSize(_)));
        assert!(matches!(problem(&with("size", "[-1000, 800]")), MapProblem::BadSize(_)));
        assert!(matches!(problem(&with("size", "[1e30, 800]")), MapProblem::BadSize(_)));
        assert_eq!(problem(&with("obstacles", "[[10, 10, 0, 50]]")), MapProblem::BadObstacle(0));
        assert_eq!(problem(&with("obstacles", "[[10, 10, 5, 5], [900, 10, 200, 50]]")), MapProblem::ObstacleOutside(1));
        assert_eq!(problem(&with("obstacles", "[[-5, 10, 20, 50]]")), MapProblem::ObstacleOutside(0));
        assert_eq!(problem(&with("spawns", "[]")), MapProblem::NoSpawns);
        assert_eq!(
            problem(&with("spawns", "[[100, 100], [1200, 100]]")),
            MapProblem::PointOutside { what: "spawn", index: 1 }
        );
        assert_eq!(
            problem(&with("spawns", "[[500, 350]]")),
            MapProblem::PointInObstacle { what: "spawn", index: 0, obstacle: 0 }
        );
        assert_eq!(problem(&with("pickups", "[[5, 5]]")), MapProblem::PointOutside { what: "pickup", index: 0 });
        assert_eq!(
            problem(&with("pickups", "[[500, 410]]")),
            MapProblem::PointInObstacle { what: "pickup", index: 0, obstacle: 0 }
        );
        // The message says what is wrong in words a map author understands.
        let msg = Map::from_json("x.json", &with("spawns", "[]")).unwrap_err().to_string();
        assert!(msg.contains("x.json") && msg.contains("spawn"), "{msg}");
    }

    fn temp_dir(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("skirmish-maps-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_directory_adds_and_replaces_maps() {
        let dir = temp_dir("replace");
        std::fs::write(dir.join("mine.json"), GOOD.replace(r#""t""#, r#""mine""#)).unwrap();
        std::fs::write(dir.join("arena.json"), GOOD.replace(r#""t""#, r#""arena""#)).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a map").unwrap();
        let list = MapList::load(Some(&dir), Some("mine")).unwrap();
        assert!(list.names().contains(&"mine") && list.names().contains(&"maze"));
        assert_eq!(list.get(list.first()).name, "mine");
        let arena = (0..list.len()).map(|i| list.get(i)).find(|m| m.name == "arena").unwrap();
        assert_eq!(arena.size, Vec2::new(1000.0, 800.0), "the directory's arena replaced the built-in one");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_editors_and_other_systems_leave_in_a_maps_directory() {
        let dir = temp_dir("editors");
        // A byte-order mark, and an extension in capitals: loaded.
        std::fs::write(dir.join("bom.json"), format!("\u{feff}{}", GOOD.replace(r#""t""#, r#""bom""#))).unwrap();
        std::fs::write(dir.join("CAPS.JSON"), GOOD.replace(r#""t""#, r#""caps""#)).unwrap();
        // macOS's AppleDouble file, a directory and a link to nothing: skipped.
        std::fs::write(dir.join("._bom.json"), [0u8, 5, 22, 7, 0, 2]).unwrap();
        std::fs::create_dir(dir.join("folder.json")).unwrap();
        std::os::unix::fs::symlink(dir.join("gone"), dir.join("link.json")).unwrap();
        let list = MapList::load(Some(&dir), None).unwrap();
        assert!(list.names().contains(&"bom") && list.names().contains(&"caps"), "{:?}", list.names());
        // A file too big to be a map is refused before it is read.
        let big = format!("{}{}", GOOD, " ".repeat(MAX_MAP_FILE_BYTES as usize));
        std::fs::write(dir.join("big.json"), big).unwrap();
        let err = MapList::load(Some(&dir), None).unwrap_err().to_string();
        assert!(err.contains("big.json") && err.contains("at most 1048576"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_map_written_as_a_list_is_refused() {
        let err = Map::from_json("list.json", r#"["t", true, [1000, 800], [], [[100, 100]], []]"#).unwrap_err();
        assert!(err.to_string().contains("one JSON object"), "{err}");
        assert!(!err.to_string().contains("RawMap"), "{err}");
    }

    #[test]
    fn a_bad_file_in_a_directory_names_the_file() {
        let dir = temp_dir("bad");
        std::fs::write(dir.join("good.json"), GOOD).unwrap();
        std::fs::write(dir.join("broken.json"), with("spawns", "[]")).unwrap();
        let err = MapList::load(Some(&dir), None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("broken.json") && msg.contains("no spawn points"), "{msg}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_directory_unknown_map_and_duplicates_are_errors() {
        let err = MapList::load(Some(Path::new("/nonexistent/skirmish-maps")), None).unwrap_err();
        assert!(matches!(err, MapError::Io { .. }) && err.to_string().contains("/nonexistent/skirmish-maps"));
        let err = MapList::load(None, Some("atlantis")).unwrap_err();
        assert!(err.to_string().contains("atlantis") && err.to_string().contains("arena"), "{err}");
        let dir = temp_dir("dup");
        std::fs::write(dir.join("a.json"), GOOD).unwrap();
        std::fs::write(dir.join("b.json"), GOOD).unwrap();
        let err = MapList::load(Some(&dir), None).unwrap_err();
        assert!(matches!(err, MapError::Duplicate { .. }) && err.to_string().contains("b.json"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A built-in map as its file describes it.
    fn builtin(name: &str) -> MapFile {
        let files = builtin_maps().expect("built-in maps are valid");
        files.into_iter().find(|f| f.map.name == name).unwrap_or_else(|| panic!("no built-in map {name}"))
    }

    #[test]
    fn expanse_loads_and_spreads_thousands_of_ships_over_the_whole_map() {
        let file = builtin("expanse");
        assert!(!file.in_rotation, "expanse is played only when --map chooses it");
        let map = &file.map;
        assert_eq!(map.size, Vec2::splat(16_000.0));
        // 3000 ships spread evenly: about 20–40 of them in one client's area of interest.
        let view = 2.0 * AOI_HALF_EXTENT;
        let ships_in_view = 3000.0 * view * view / (map.size.x * map.size.y);
        assert!((20.0..=40.0).contains(&ships_in_view), "{ships_in_view} ships in view");
        assert!(map.spawns.len() >= 800, "{} spawns", map.spawns.len());
        assert!(map.obstacles.len() >= 200 && map.pickups.len() >= 200, "{map:?}");
        // Spread over the whole map: every 2000 × 2000 square has obstacles, spawns and pickups.
        let square = |p: Vec2| ((p.x / 2000.0) as usize).min(7) * 8 + ((p.y / 2000.0) as usize).min(7);
        for (what, points) in [
            ("spawns", map.spawns.clone()),
            ("pickups", map.pickups.clone()),
            ("obstacles", map.obstacles.iter().map(|r| (r.min + r.max) * 0.5).collect()),
        ] {
            let mut count = [0; 64];
            points.iter().for_each(|&p| count[square(p)] += 1);
            assert!(count.iter().all(|&n| n > 0), "a 2000-unit square without {what}: {count:?}");
        }
    }

    #[test]
    fn the_default_rotation_skips_maps_out_of_it() {
        let list = MapList::load(None, None).unwrap();
        assert_eq!(list.names(), ["arena", "maze"]);
        assert_eq!(list.get(list.first()).name, "arena");
        let list = MapList::load(None, Some("maze")).unwrap();
        assert_eq!(list.names(), ["arena", "maze"]);
        assert_eq!(list.get(list.first()).name, "maze");
        assert_eq!(list.get(list.first() + 1).name, "arena");
    }

    #[test]
    fn choosing_a_map_out_of_the_rotation_plays_only_it() {
        let list = MapList::load(None, Some("expanse")).unwrap();
        assert_eq!(list.names(), ["expanse"]);
        for i in 0..5 {
            assert_eq!(list.get(list.first().wrapping_add(i)).name, "expanse", "match {i}");
        }
    }

    #[test]
    fn rotation_false_is_read_and_leaves_the_rotation_unless_chosen() {
        assert!(MapFile::from_json("t.json", GOOD).unwrap().in_rotation, "in the rotation by default");
        assert!(!MapFile::from_json("t.json", &with("rotation", "false")).unwrap().in_rotation);
        assert!(matches!(problem(&with("rotation", r#""no""#)), MapProblem::Json(_)));
        let file = |name: &str, in_rotation| MapFile { map: Map::open(name, Vec2::splat(500.0)), in_rotation };
        let files = || vec![file("c", true), file("b", false), file("a", true)];
        let list = MapList::from_files(files(), None).unwrap();
        assert_eq!((list.names(), list.first()), (vec!["a", "c"], 0));
        let list = MapList::from_files(files(), Some("c")).unwrap();
        assert_eq!((list.names(), list.get(list.first()).name.as_str()), (vec!["a", "c"], "c"));
        let list = MapList::from_files(files(), Some("b")).unwrap();
        assert_eq!((list.names(), list.first()), (vec!["b"], 0));
        // Nothing in the rotation and no choice: say how to choose, naming the maps.
        let err = MapList::from_files(vec![file("b", false)], None).unwrap_err();
        assert!(matches!(err, MapError::NoRotation { .. }), "{err}");
        assert!(err.to_string().contains("--map") && err.to_string().contains('b'), "{err}");
        // An unknown map's error names the maps out of the rotation too.
        let err = MapList::load(None, Some("atlantis")).unwrap_err();
        assert!(err.to_string().contains("expanse"), "{err}");
    }

    #[test]
    fn the_rotation_wraps_in_name_order() {
        let list =
            MapList::new(vec![Map::open("b", Vec2::splat(500.0)), Map::open("a", Vec2::splat(500.0))], Some("b"))
                .unwrap();
        assert_eq!(list.names(), ["a", "b"]);
        assert_eq!(list.get(list.first()).name, "b");
        assert_eq!(list.get(list.first() + 1).name, "a");
    }

    #[test]
    fn an_explicit_rotation_plays_those_maps_in_that_order() {
        let rotation = ["maze".to_owned(), "expanse".to_owned(), "arena".to_owned()];
        let list = MapList::load_rotation(None, None, &rotation).unwrap();
        let names: Vec<_> = (0..list.len()).map(|i| list.get(i).name.clone()).collect();
        assert_eq!(names, ["maze", "expanse", "arena"], "even a map out of the default rotation");
        assert_eq!(list.first(), 0);
        assert_eq!(MapList::load_rotation(None, Some("arena"), &rotation).unwrap().first(), 2);
        let err = MapList::load_rotation(None, Some("expanse"), &rotation[..1]).unwrap_err().to_string();
        assert_eq!(err, "--map \"expanse\" is not in --rotation (maze)");
        let err = MapList::load_rotation(None, None, &["atlantis".to_owned()]).unwrap_err().to_string();
        assert!(err.contains("no map named \"atlantis\""), "{err}");
    }
}
