//! Variable-length integers (FORMAT.md §2.3): unsigned LEB128 (seven bits per
//! byte, low first, the high bit set on every byte but the last) and, for signed
//! integers, zig-zag then LEB128.

/// Appends `n` as unsigned LEB128.
#[inline]
pub(crate) fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The bytes `put_u64(n)` appends.
#[inline]
pub(crate) fn len_u64(n: u64) -> usize {
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends `n` zig-zag encoded, as unsigned LEB128.
#[inline]
pub(crate) fn put_i64(out: &mut Vec<u8>, n: i64) {
    put_u64(out, ((n << 1) ^ (n >> 63)) as u64);
}

/// Reads an unsigned LEB128 at `*pos`, advancing it. `None` when the bytes end
/// first, or the number does not fit 64 bits or is not in its shortest form
/// (so that every number has exactly one encoding).
#[inline]
pub(crate) fn read_u64(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *bytes.get(*pos)?;
    if first < 0x80 {
        *pos += 1;
        return Some(u64::from(first));
    }
    let mut n = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        let bits = u64::from(byte & 0x7F);
        if shift == 63 && bits > 1 {
            return None;
        }
        n |= bits << shift;
        if byte & 0x80 == 0 {
            // A trailing zero byte would be a longer form of the same number.
            return (byte != 0 || shift == 0).then_some(n);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Reads a zig-zag LEB128 at `*pos`, advancing it.
#[inline]
pub(crate) fn read_i64(bytes: &[u8], pos: &mut usize) -> Option<i64> {
    let z = read_u64(bytes, pos)?;
    Some(((z >> 1) as i64) ^ -((z & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_bytes() {
        for (n, bytes) in [
            (0u64, vec![0x00]),
            (127, vec![0x7F]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xAC, 0x02]),
            (
                u64::MAX,
                vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            ),
        ] {
            let mut out = Vec::new();
            put_u64(&mut out, n);
            assert_eq!(out, bytes, "{n}");
            let mut pos = 0;
            assert_eq!(read_u64(&out, &mut pos), Some(n));
            assert_eq!(pos, out.len());
            assert_eq!(len_u64(n), out.len());
        }
        for n in [0i64, -1, 1, -64, 63, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            put_i64(&mut out, n);
            let mut pos = 0;
            assert_eq!(read_i64(&out, &mut pos), Some(n));
        }
        let mut out = Vec::new();
        put_i64(&mut out, -1);
        assert_eq!(out, vec![0x01]);
    }

    #[test]
    fn refuses_overlong_and_overflowing_forms() {
        let mut pos = 0;
        assert_eq!(read_u64(&[0x80, 0x00], &mut pos), None, "overlong zero");
        let mut pos = 0;
        assert_eq!(read_u64(&[0xFF; 10], &mut pos), None);
        let mut pos = 0;
        let eleven = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02];
        assert_eq!(read_u64(&eleven, &mut pos), None, "over 64 bits");
        let mut pos = 0;
        assert_eq!(read_u64(&[0x80], &mut pos), None, "truncated");
    }
}
