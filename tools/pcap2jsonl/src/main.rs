fn main() -> std::process::ExitCode {
    tcpwhy_common::cli::main(pcap2jsonl::run)
}
