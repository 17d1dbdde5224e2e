//! Bridges between the async server and the blocking report renderers:
//! rows flow from a database stream through a bounded channel into the
//! renderer, and the rendered bytes flow out through another bounded
//! channel into the response body. Both bounds cap the memory a report
//! uses whatever its length, and a client that goes away stops both.

use std::io::{self, Write};

use axum::body::Bytes;
use tokio::sync::mpsc;

/// Bytes per chunk sent to the response body.
const CHUNK: usize = 64 * 1024;

/// A `Write` that sends what is written, in chunks, down a channel (from a
/// blocking thread).
pub struct ChannelWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl ChannelWriter {
    pub fn new(sender: mpsc::Sender<Result<Bytes, io::Error>>) -> ChannelWriter {
        ChannelWriter {
            buffer: Vec::with_capacity(CHUNK),
            sender,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The receiving end as a stream of body chunks.
pub fn body_stream(
    receiver: mpsc::Receiver<Result<Bytes, io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

/// Rows received in chunks on a blocking thread, as an iterator of rows
/// (an error ends a chunk).
pub fn blocking_rows<T, E>(
    mut receiver: mpsc::Receiver<Result<Vec<T>, E>>,
) -> impl Iterator<Item = Result<T, E>> {
    std::iter::from_fn(move || receiver.blocking_recv()).flat_map(|chunk| {
        let (rows, error) = match chunk {
            Ok(rows) => (rows, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        rows.into_iter().map(Ok).chain(error.map(Err))
    })
}
