//! The descriptors this process holds on one local TCP port: the in-process server's listening
//! and accepted sockets, told apart from the test's own client sockets (whose local ports are
//! ephemeral) through `/proc/net/tcp{,6}`. Linux only, like the server's deployment.

use std::collections::HashSet;

/// How many of this process's open descriptors are TCP sockets bound to local `port`.
pub fn sockets_on_port(port: u16) -> usize {
    let inodes = inodes_on_port(port);
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return 0 };
    dir.filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target.strip_prefix("socket:[")?.strip_suffix(']')?.parse::<u64>().ok()
        })
        .filter(|inode| inodes.contains(inode))
        .count()
}

/// The inodes of every TCP socket (any process, this network namespace) with local `port`.
fn inodes_on_port(port: u16) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields.get(1).and_then(|a| a.rsplit_once(':')).map(|(_, p)| p);
            if local_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
                && let Some(inode) = fields.get(9).and_then(|i| i.parse().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}
