//! A fault-injecting HTTP/1.1 proxy for the tests, between vintner and a real server: it
//! forwards each request on a fresh upstream connection and keeps the client's connection
//! alive, so it can close idle client connections, reset a response midway, answer 503 for a
//! while, or drop off the network and come back — the failures a team's tracking server shows.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does to the traffic.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Close a client connection that has been idle this long (a server's keep-alive).
    IdleClose(Duration),
    /// Reset the connection halfway through the first response to each of these requests
    /// (`"POST runs/update"`: method and the path after `/api/2.0/mlflow/`); `runs/log-batch`
    /// is reset on its second call (the metrics, after training).
    ResetMidResponse(Vec<&'static str>),
    /// From the second `runs/log-batch` on, answer 503 to everything for this long.
    Unavailable(Duration),
    /// At the second `runs/log-batch`, drop off the network (connections reset, the port
    /// refuses) for this long, then come back.
    Down(Duration),
    /// Nothing: every request is forwarded as it is (to count them, `Injected::requests`).
    Nothing,
}

/// Counters of what was injected, so a test can check that its fault really happened.
#[derive(Debug, Default)]
pub struct Injected {
    pub requests: AtomicUsize,
    pub idle_closes: AtomicUsize,
    pub resets: AtomicUsize,
    pub unavailable: AtomicUsize,
    pub refused_while_down: AtomicUsize,
}

struct Shared {
    upstream: String,
    fault: Fault,
    injected: Injected,
    log_batches: AtomicUsize,
    /// Requests already reset once (`Fault::ResetMidResponse`).
    reset_done: Mutex<Vec<String>>,
    /// 503 until then.
    unavailable_until: Mutex<Option<Instant>>,
    /// Off the network until then.
    down_until: Mutex<Option<Instant>>,
    stop: AtomicBool,
}

/// A running proxy on 127.0.0.1; stops when dropped.
pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:port`).
    pub fn start(upstream: &str, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_start_matches("http://").to_string(),
            fault,
            injected: Injected::default(),
            log_batches: AtomicUsize::new(0),
            reset_done: Mutex::new(Vec::new()),
            unavailable_until: Mutex::new(None),
            down_until: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::spawn(move || accept_loop(listener, addr, s));
        Proxy {
            url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn injected(&self) -> &Injected {
        &self.shared.injected
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn down_now(s: &Shared) -> Option<Instant> {
    let until = *s.down_until.lock().unwrap();
    until.filter(|u| Instant::now() < *u)
}

fn accept_loop(listener: TcpListener, addr: std::net::SocketAddr, s: Arc<Shared>) {
    let mut listener = Some(listener);
    while !s.stop.load(Ordering::SeqCst) {
        if let Some(until) = down_now(&s) {
            // Off the network: the port refuses connections until the window ends.
            listener = None;
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            continue;
        }
        let l = match &listener {
            Some(l) => l,
            None => {
                // Back: the same port again (std sets SO_REUSEADDR).
                match TcpListener::bind(addr) {
                    Ok(l) => listener.insert(l),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                }
            }
        };
        l.set_nonblocking(true).unwrap();
        match l.accept() {
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve_client(client, &s);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// One HTTP request as read from the client.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
    /// `POST runs/log-batch`.
    label: String,
}

/// Reads a request head and its `Content-Length` body; `None` at a clean end of stream.
fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let len = header(&text, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let mut words = text.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let path = words.next().unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    let endpoint = path
        .strip_prefix("/api/2.0/mlflow/")
        .or_else(|| path.strip_prefix("/ajax-api/2.0/mlflow/"))
        .unwrap_or(path);
    Ok(Some(Request {
        head,
        body,
        label: format!("{method} {endpoint}"),
    }))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads one whole response (Content-Length, chunked, or up to the close) from `up`; the
/// response to a `HEAD` request (`head`) has no body whatever its headers say.
fn read_response(up: &mut BufReader<TcpStream>, head: bool) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut line = Vec::new();
        if up.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        out.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(out);
    }
    if let Some(len) = header(&text, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        let mut body = vec![0; len];
        up.read_exact(&mut body)?;
        out.extend_from_slice(&body);
    } else if header(&text, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size_line = Vec::new();
            up.read_until(b'\n', &mut size_line)?;
            out.extend_from_slice(&size_line);
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&size_line)
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or("0"),
                16,
            )
            .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            up.read_exact(&mut chunk)?;
            out.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    } else {
        up.read_to_end(&mut out)?;
    }
    Ok(out)
}

/// Closes with a TCP reset (linger 0), as a crashed peer or a middlebox does.
fn reset(stream: TcpStream) {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

fn serve_client(client: TcpStream, s: &Shared) -> std::io::Result<()> {
    let mut writer = client.try_clone()?;
    let mut reader = BufReader::new(client);
    loop {
        let idle = match s.fault {
            Fault::IdleClose(d) => Some(d),
            _ => None,
        };
        // Wait for the next request; a keep-alive timeout closes an idle connection.
        reader.get_ref().set_read_timeout(idle)?;
        match reader.fill_buf() {
            Ok([]) => return Ok(()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                s.injected.idle_closes.fetch_add(1, Ordering::SeqCst);
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(60)))?;
        let Some(req) = read_request(&mut reader)? else {
            return Ok(());
        };
        s.injected.requests.fetch_add(1, Ordering::SeqCst);
        let second_batch =
            req.label == "POST runs/log-batch" && s.log_batches.fetch_add(1, Ordering::SeqCst) == 1;
        if down_now(s).is_some() {
            s.injected.refused_while_down.fetch_add(1, Ordering::SeqCst);
            reset(writer);
            return Ok(());
        }
        match &s.fault {
            Fault::Down(d) if second_batch => {
                *s.down_until.lock().unwrap() = Some(Instant::now() + *d);
                s.injected.refused_while_down.fetch_add(1, Ordering::SeqCst);
                reset(writer);
                return Ok(());
            }
            Fault::Unavailable(d) => {
                if second_batch {
                    *s.unavailable_until.lock().unwrap() = Some(Instant::now() + *d);
                }
                let until = *s.unavailable_until.lock().unwrap();
                if until.is_some_and(|u| Instant::now() < u) {
                    s.injected.unavailable.fetch_add(1, Ordering::SeqCst);
                    let body = br#"{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "Service Unavailable"}"#;
                    write!(
                        writer,
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    )?;
                    writer.write_all(body)?;
                    continue;
                }
            }
            _ => {}
        }
        // Forward on a fresh upstream connection and read the whole response.
        let mut up = TcpStream::connect(&s.upstream)?;
        up.write_all(&req.head)?;
        up.write_all(&req.body)?;
        let mut up_reader = BufReader::new(up);
        let response = read_response(&mut up_reader, req.label.starts_with("HEAD "))?;
        if let Fault::ResetMidResponse(labels) = &s.fault {
            let chosen = if req.label == "POST runs/log-batch" {
                second_batch
            } else {
                labels.contains(&req.label.as_str())
                    && !s.reset_done.lock().unwrap().contains(&req.label)
            };
            if chosen {
                s.reset_done.lock().unwrap().push(req.label.clone());
                s.injected.resets.fetch_add(1, Ordering::SeqCst);
                writer.write_all(&response[..response.len() / 2])?;
                writer.flush()?;
                std::thread::sleep(Duration::from_millis(20));
                reset(writer);
                return Ok(());
            }
        }
        writer.write_all(&response)?;
    }
}
