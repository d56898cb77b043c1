//! Starts an MCP server as a client entry would (command and arguments verbatim), connects with rmcp's `auto`
//! lifecycle (probe `server/discover`, fall back to `initialize` after 10 s or on a legacy answer), lists the tools
//! and makes one call. Prints one JSON line: what a Rust client of this SDK saw and when.
use std::time::Instant;

use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::process::Command;

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: rmcp-auto-probe TOOL ARGS_JSON COMMAND [ARG...]");
        std::process::exit(64);
    }
    let tool = args.remove(0);
    let arguments: Value = serde_json::from_str(&args.remove(0)).expect("ARGS_JSON is not JSON");
    let mut command = Command::new(args.remove(0));
    command.args(&args);
    let started = Instant::now();
    let ms = |at: Instant| at.elapsed().as_secs_f64() * 1000.0;
    let report = match run(command, &tool, arguments, started).await {
        Ok((ready, listed, called, tools, version, is_error)) => json!({
            "ok": !is_error, "protocol": version, "tools": tools, "ready_ms": ready,
            "listed_ms": listed, "called_ms": called, "total_ms": ms(started),
        }),
        Err(error) => json!({"ok": false, "error": error, "total_ms": ms(started)}),
    };
    println!("{report}");
}

async fn run(
    command: Command,
    tool: &str,
    arguments: Value,
    started: Instant,
) -> Result<(f64, f64, f64, usize, Option<String>, bool), String> {
    let ms = |at: Instant| at.elapsed().as_secs_f64() * 1000.0;
    let transport = TokioChildProcess::new(command).map_err(|e| format!("spawn: {e}"))?;
    let lifecycle = ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: Some(ProtocolVersion::V_2025_11_25),
    };
    let client = ().serve_with_lifecycle(transport, lifecycle).await.map_err(|e| format!("start: {e}"))?;
    let ready = ms(started);
    let version = client.peer_info().map(|info| info.protocol_version.to_string());
    let tools = client.list_tools(None).await.map_err(|e| format!("tools/list: {e}"))?;
    let listed = ms(started);
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(arguments.as_object().cloned().unwrap_or_default());
    let result = client.call_tool(params).await.map_err(|e| format!("tools/call: {e}"))?;
    let called = ms(started);
    let is_error = result.is_error.unwrap_or(false);
    if is_error {
        eprintln!("{}", serde_json::to_string(&result.content).unwrap_or_default());
    }
    let _ = client.cancel().await;
    Ok((ready, listed, called, tools.tools.len(), version, is_error))
}
