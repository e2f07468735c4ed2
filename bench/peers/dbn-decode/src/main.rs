//! dbn-decode-peer FILE: decodes every MBP-10 record of FILE (plain or zstd DBN) with the `dbn` crate's
//! DecodeRecord::decode_record (a typed reference into the decoder's buffer) and prints
//! `records checksum cpu_seconds`, the CPU time measured in-process around the decode loop only.
use std::{fs::File, io, io::BufReader};

use dbn::decode::{DbnDecoder, DecodeRecord};
use dbn::Mbp10Msg;

fn cpu_seconds() -> f64 {
    let mut ts = libc_timespec { tv_sec: 0, tv_nsec: 0 };
    // CLOCK_PROCESS_CPUTIME_ID = 2 on Linux.
    unsafe { clock_gettime(2, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

#[repr(C)]
struct libc_timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clk: i32, ts: *mut libc_timespec) -> i32;
}

fn run<R: io::Read>(mut dec: DbnDecoder<R>) -> (u64, u64) {
    let mut n = 0u64;
    let mut sum = 0u64;
    while let Some(r) = dec.decode_record::<Mbp10Msg>().expect("decode") {
        n += 1;
        sum = sum.wrapping_add(r.hd.ts_event ^ (r.price as u64) ^ (r.size as u64));
    }
    (n, sum)
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: dbn-decode-peer FILE");
    let t0 = cpu_seconds();
    let file = File::open(&path).expect("open");
    let (n, sum) = if path.ends_with(".zst") {
        run(DbnDecoder::with_zstd(BufReader::new(file)).expect("metadata"))
    } else {
        run(DbnDecoder::new(BufReader::new(file)).expect("metadata"))
    };
    let t1 = cpu_seconds();
    println!("{} {} {:.6}", n, sum, t1 - t0);
}
