fn main() -> std::process::ExitCode {
    tcpwhy_common::cli::main(ttlhops::run)
}
