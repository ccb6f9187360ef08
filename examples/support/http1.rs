//! The HTTP/1.1 client steps the load generators share: a keep-alive
//! connection, and reading a response.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A keep-alive connection to `addr` (no Nagle delay, 30 s read timeout): a
/// writer and a buffered reader.
pub fn connect(addr: &str) -> Result<(TcpStream, BufReader<TcpStream>), BoxError> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let writer = tcp.try_clone()?;
    Ok((writer, BufReader::new(tcp)))
}

/// Reads one response; returns its status.
pub fn read_response(reader: &mut BufReader<TcpStream>) -> Result<u16, BoxError> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line.split(' ').nth(1).ok_or("no status line")?.parse()?;
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}
