//! A private Redis for lessons that need one.
//!
//! Two Socket.IO servers share rooms by publishing every broadcast on Redis (see
//! [`super::server`]). When the learner gives no `--redis URL`, wirelab starts its own
//! `redis-server`, if one is installed, in the safest shape it has: listening on 127.0.0.1
//! only, on a free port, with no persistence (no RDB snapshots, no append-only file) and a
//! fresh temporary folder as its working directory. It runs in its own process group, so a
//! Ctrl-C in the terminal reaches wirelab, which stops Redis itself; it is stopped (by its PID)
//! and its folder removed when the [`LocalRedis`] is dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// What to tell a learner who has no `redis-server`.
pub const HOW_TO_GET: &str = "install Redis 7 or later (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or give --redis redis://HOST:PORT/?protocol=resp3";

/// A `redis-server` started by wirelab.
pub struct LocalRedis {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl LocalRedis {
    /// Is a `redis-server` of version 7 or later on the PATH? `Err` says why not.
    pub fn available() -> Result<String, String> {
        let out = Command::new("redis-server")
            .arg("--version")
            .output()
            .map_err(|e| format!("no redis-server found ({e}); {HOW_TO_GET}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // "Redis server v=7.0.15 sha=… malloc=jemalloc-5.3.0 bits=64 build=…"
        let version = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("v="))
            .unwrap_or("")
            .to_string();
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major < 7 {
            return Err(format!(
                "redis-server {version} is too old: socketioxide's Redis adapter asks for Redis 7 or later (it speaks RESP3, which Redis has had since 6.0); {HOW_TO_GET}"
            ));
        }
        Ok(version)
    }

    /// Start one on a free loopback port and wait until it answers.
    pub fn start() -> Result<LocalRedis, Error> {
        Self::available()?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("wirelab-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group: the terminal's Ctrl-C goes to wirelab, which stops Redis.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // On Windows: CREATE_NEW_PROCESS_GROUP, so the console's Ctrl-C does not reach it.
        #[cfg(windows)]
        std::os::windows::process::CommandExt::creation_flags(&mut cmd, 0x0000_0200);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let mut redis = LocalRedis { child, dir, port };
        redis.wait_ready()?;
        Ok(redis)
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        use std::io::{Read, Write};
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("redis-server exited at once ({status})").into());
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                s.set_read_timeout(Some(Duration::from_secs(1)))?;
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "redis-server did not answer on 127.0.0.1:{} within 10 s",
                    self.port
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL the Redis adapter needs (RESP3).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/?protocol=resp3", self.port)
    }

    /// The process id, for the learner who wants to look.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP port nobody listens on right now (the kernel picks it).
pub fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
