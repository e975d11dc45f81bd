//! A window over a seekable NetMon file: frames handed out as slices, reads bounds-checked.

use std::io::{self, Read, Seek, SeekFrom};

/// A seekable input with its real size; reads are bounds-checked by the callers.
///
/// Frames are handed out as slices of a window of the file (no copy per frame): the window is
/// refilled with [`WINDOW`] bytes from the frame that does not fit in it, so frames stored in
/// file order cost one large read per window.
pub(super) struct Input<R: Read + Seek> {
    r: R,
    pub(super) len: u64,
    win: Vec<u8>,
    win_off: u64,
    win_len: usize,
}

/// The usual window size (it grows to one whole frame when a frame is larger).
const WINDOW: usize = 1 << 20;

impl<R: Read + Seek> Input<R> {
    pub(super) fn new(r: R, len: u64) -> Self {
        Input {
            r,
            len,
            win: Vec::new(),
            win_off: 0,
            win_len: 0,
        }
    }

    /// The `n` bytes at `off`, which the caller checked lie inside the file (`n` is at most one
    /// frame).
    pub(super) fn slice(&mut self, off: u64, n: usize) -> io::Result<&[u8]> {
        if !self.fits(off, n as u64) {
            // Callers check first; never index past the window.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let in_window = off >= self.win_off && off - self.win_off + n as u64 <= self.win_len as u64;
        if !in_window {
            let want = (n.max(WINDOW) as u64).min(self.len.saturating_sub(off)) as usize;
            if self.win.len() < want {
                self.win.resize(want, 0);
            }
            self.r.seek(SeekFrom::Start(off))?;
            self.r.read_exact(&mut self.win[..want])?;
            self.win_off = off;
            self.win_len = want;
        }
        let s = (off - self.win_off) as usize;
        Ok(&self.win[s..s + n])
    }

    /// Reads `buf.len()` bytes at `off` (inside the file): small reads through the window,
    /// large ones (a frame table chunk, a comment table) directly, leaving the window as it is.
    pub(super) fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.len() <= 4096 {
            let n = buf.len();
            buf.copy_from_slice(self.slice(off, n)?);
        } else {
            self.r.seek(SeekFrom::Start(off))?;
            self.r.read_exact(buf)?;
        }
        Ok(())
    }

    /// True when `len` bytes at `off` lie inside the file.
    pub(super) fn fits(&self, off: u64, len: u64) -> bool {
        off.checked_add(len).is_some_and(|end| end <= self.len)
    }
}
