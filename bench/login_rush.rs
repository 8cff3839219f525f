//! Memory under a rush of password logins (placeholder: written by the memory work of issue 10).
fn main() {
    eprintln!("login_rush: not written yet");
    std::process::exit(1);
}
