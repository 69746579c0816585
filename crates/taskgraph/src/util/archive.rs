//! Deterministic tar streams, laid out byte for byte as the reference's
//! docker context archives.
//!
//! A docker image's cache digest is the SHA-256 of such a stream, so every
//! header byte matters: Python's `tarfile` in GNU format with the pre-3.9
//! device fields (the reference forces that layout so that hashes do not
//! change between Python versions). The `tar` crate writes equivalent
//! archives, but not these bytes: it pads numeric fields differently and
//! leaves the device numbers empty, which is why the layout is spelled out
//! here.
//!
//! Each entry is a regular file with uid/gid 0, empty user and group
//! names, the mode bits `& 0o7777` and a fixed mtime. Names longer than 100
//! bytes get a GNU `././@LongLink` entry first. The archive ends with two
//! zero blocks and is padded to a whole record of 20 blocks.

use std::io::{self, Write};

/// The mtime of every entry: 2016-01-01T00:00:00Z.
pub const FIXED_MTIME: u64 = 1_451_606_400;

const BLOCK: usize = 512;
const RECORD: usize = 20 * BLOCK;
const NAME_LENGTH: usize = 100;
const GNU_MAGIC: &[u8; 8] = b"ustar  \0";

/// Writes tar entries to `out`, counting bytes for the final padding.
#[derive(Debug)]
pub struct TarWriter<W: Write> {
    out: W,
    written: usize,
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> TarWriter<W> {
        TarWriter { out, written: 0 }
    }

    /// Appends a regular file. setuid and setgid bits are refused, as the
    /// reference refuses them: the archive is unpacked as root.
    pub fn append_file(&mut self, name: &str, mode: u32, contents: &[u8]) -> io::Result<()> {
        if mode & 0o6000 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot archive `{name}`: it has the setuid or setgid bit"),
            ));
        }

        let name_bytes = name.as_bytes();
        if name_bytes.len() > NAME_LENGTH {
            let mut long_name = name_bytes.to_vec();
            long_name.push(0);
            let header = Header {
                name: b"././@LongLink",
                mode: 0,
                size: long_name.len() as u64,
                mtime: 0,
                kind: b'L',
            };
            self.write(&header.encode())?;
            self.write_padded(&long_name)?;
        }

        let header = Header {
            name: &name_bytes[..name_bytes.len().min(NAME_LENGTH)],
            mode: mode & 0o7777,
            size: contents.len() as u64,
            mtime: FIXED_MTIME,
            kind: b'0',
        };
        self.write(&header.encode())?;
        self.write_padded(contents)
    }

    /// Writes the end-of-archive blocks and the record padding, and returns
    /// the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.write(&[0; 2 * BLOCK])?;
        let remainder = self.written % RECORD;
        if remainder != 0 {
            self.write(&vec![0; RECORD - remainder])?;
        }
        Ok(self.out)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len();
        Ok(())
    }

    fn write_padded(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write(bytes)?;
        let remainder = bytes.len() % BLOCK;
        if remainder != 0 {
            self.write(&[0; BLOCK][..BLOCK - remainder])?;
        }
        Ok(())
    }
}

/// The fields of one header that vary.
struct Header<'a> {
    name: &'a [u8],
    mode: u32,
    size: u64,
    mtime: u64,
    kind: u8,
}

impl Header<'_> {
    fn encode(&self) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        block[..self.name.len()].copy_from_slice(self.name);
        put_octal(&mut block[100..108], u64::from(self.mode));
        put_octal(&mut block[108..116], 0); // uid
        put_octal(&mut block[116..124], 0); // gid
        put_octal(&mut block[124..136], self.size);
        put_octal(&mut block[136..148], self.mtime);
        block[148..156].copy_from_slice(b"        "); // checksum, counted as spaces
        block[156] = self.kind;
        // 157..257: link name, empty.
        block[257..265].copy_from_slice(GNU_MAGIC);
        // 265..329: user and group names, empty.
        put_octal(&mut block[329..337], 0); // device major
        put_octal(&mut block[337..345], 0); // device minor

        let checksum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        let text = format!("{checksum:06o}\0");
        block[148..155].copy_from_slice(text.as_bytes());
        block
    }
}

/// A zero-padded octal number filling all but the last byte of `field`,
/// which stays NUL. Values that do not fit are cut to their low digits;
/// sizes here stay far below the 8 GiB a 12-byte field holds.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    let text = &text.as_bytes()[text.len() - digits..];
    field[..digits].copy_from_slice(text);
    field[digits] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut writer = TarWriter::new(Vec::new());
        for (name, mode, contents) in entries {
            writer.append_file(name, *mode, contents).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn header_fields_are_laid_out_like_python_tarfile() {
        let bytes = archive(&[("Dockerfile", 0o100644, b"FROM debian:12\n")]);
        assert_eq!(bytes.len(), RECORD);
        let header = &bytes[..BLOCK];
        assert_eq!(&header[..11], b"Dockerfile\0");
        assert_eq!(&header[100..108], b"0000644\0");
        assert_eq!(&header[124..136], b"00000000017\0");
        assert_eq!(&header[136..148], b"12641340600\0");
        assert_eq!(header[155], b' ');
        assert_eq!(header[154], 0);
        assert_eq!(&header[257..265], b"ustar  \0");
        assert_eq!(&header[329..345], b"0000000\x000000000\0");
        assert_eq!(&bytes[BLOCK..BLOCK + 15], b"FROM debian:12\n");
        assert!(bytes[BLOCK + 15..].iter().all(|&b| b == 0));
    }

    #[test]
    fn long_names_get_a_gnu_long_link_entry() {
        let name = format!("topsrcdir/{}", "d/".repeat(60)) + "file";
        let bytes = archive(&[(&name, 0o644, b"x")]);
        assert_eq!(&bytes[..13], b"././@LongLink");
        assert_eq!(bytes[156], b'L');
        assert_eq!(&bytes[100..108], b"0000000\0");
        // The long name, NUL-terminated, then the real header with the name
        // cut at 100 bytes.
        assert_eq!(&bytes[BLOCK..BLOCK + name.len()], name.as_bytes());
        assert_eq!(bytes[BLOCK + name.len()], 0);
        assert_eq!(&bytes[2 * BLOCK..2 * BLOCK + 100], &name.as_bytes()[..100]);
        assert_eq!(bytes[2 * BLOCK + 156], b'0');
    }

    #[test]
    fn setuid_files_are_refused() {
        let mut writer = TarWriter::new(Vec::new());
        assert!(writer.append_file("tool", 0o104755, b"").is_err());
    }

    fn sha256(bytes: &[u8]) -> String {
        format!("{:x}", Sha256::digest(bytes))
    }

    // The digests below were computed once with the reference's
    // `create_tar_from_files` (Python tarfile) on the same files.

    #[test]
    fn known_archive_digest() {
        let bytes = archive(&[
            ("Dockerfile", 0o644, b"FROM debian:12\nRUN true\n"),
            ("run.sh", 0o755, b"#!/bin/sh\necho hi\n"),
        ]);
        assert_eq!(
            sha256(&bytes),
            "86d063159806a59eb3e4ae5d72aa382a789b268769f0a4ff5a4955ffb87db1ab"
        );
    }

    #[test]
    fn known_long_name_digest() {
        let name = format!("topsrcdir/{}", "d/".repeat(60)) + "file";
        let bytes = archive(&[(&name, 0o644, b"x")]);
        assert_eq!(
            sha256(&bytes),
            "38e7241f972e8d8c459efa419aae9ba2cf4be9bfc93a206e17655875ac3a354e"
        );
    }
}
