//! The open-file limit: every bot holds one socket, so `-c 2000` needs over 2000 descriptors
//! while shells often start programs with a soft limit of 1024. The bots raise their own soft
//! limit to the hard limit (what any process may do) and refuse to start, with the command to
//! fix it, when even that is too low.

/// Descriptors needed besides the bots' sockets: stdio, the runtime's epoll and wake-up
/// descriptors, the JSON file, with room to spare.
const SPARE_FDS: u64 = 64;

/// About how many descriptors `count` bots need.
pub fn needed(count: u32) -> u64 {
    u64::from(count) + SPARE_FDS
}

/// Raises the soft open-file limit as far as the hard limit allows; returns the limit now in
/// force.
pub fn raise() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Refuses a run that would run out of descriptors, saying how to fix it.
pub fn check(limit: u64, count: u32) -> Result<(), String> {
    let need = needed(count);
    if limit >= need {
        return Ok(());
    }
    Err(format!(
        "open-file limit is {limit}, need about {need} for -c {count}; raise it with `ulimit -n {need}` \
         (as root, or after raising the hard limit) or run fewer bots"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enough_descriptors_pass() {
        assert_eq!(check(1024, 10), Ok(()));
        assert_eq!(check(needed(2000), 2000), Ok(()));
    }

    #[test]
    fn too_few_descriptors_say_what_to_do() {
        let err = check(1024, 2000).unwrap_err();
        assert_eq!(
            err,
            "open-file limit is 1024, need about 2064 for -c 2000; raise it with `ulimit -n 2064` \
             (as root, or after raising the hard limit) or run fewer bots"
        );
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let (soft_before, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        let now = raise().unwrap();
        assert!(now >= soft_before, "{now} < {soft_before}");
        assert_eq!(rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap().0, now);
    }
}
