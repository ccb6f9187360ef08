//! The `firstlog` command (work in progress).

fn main() {
    eprintln!("firstlog: the command line is not built yet");
    std::process::exit(2);
}
