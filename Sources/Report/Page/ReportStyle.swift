/// The report's stylesheet, inlined into the page (no external fonts or files).
///
/// Fonts: the stacks name fonts that exist on the reader's machine; on Debian
/// `fonts-noto-cjk` provides "Noto Sans CJK KR" for Hangul, on macOS "Apple SD
/// Gothic Neo", on Windows "Malgun Gothic". The browser falls through the list
/// per character, so Latin text keeps the system font and Hangul finds a CJK one.
enum ReportStyle {
    static let css = """
    :root{--ink:#1d232b;--muted:#5b6672;--line:#d5dbe1;--panel:#f6f8fa;--accent:#0b5cad}
    *{box-sizing:border-box}
    html{font-size:15px}
    body{margin:0 auto;max-width:1180px;padding:24px 28px 60px;color:var(--ink);background:#fff;line-height:1.45;
    font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK KR","Noto Sans KR","Apple SD Gothic Neo","Malgun Gothic","Nanum Gothic",sans-serif}
    code,pre,.mono,.token{font-family:"DejaVu Sans Mono","Noto Sans Mono CJK KR","Noto Sans Mono","D2Coding",Menlo,Consolas,monospace}
    h1{font-size:1.55rem;margin:0 0 4px}
    h2{font-size:1.25rem;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
    h3{font-size:1.02rem;margin:22px 0 6px}
    .subtitle{color:var(--muted);margin:0 0 12px}
    nav{margin:10px 0 4px;font-size:.92rem}
    nav a{color:var(--accent);text-decoration:none;margin-right:14px}
    .note{color:var(--muted);font-size:.92rem;margin:6px 0}
    .note::before{content:"ⓘ ";}
    table{border-collapse:collapse;margin:6px 0 10px}
    th,td{text-align:left;vertical-align:top;padding:4px 10px;border-bottom:1px solid var(--line)}
    th{font-weight:600;color:var(--muted);white-space:nowrap}
    table.facts td{font-variant-numeric:tabular-nums}
    pre.command{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:8px 10px;white-space:pre-wrap;word-break:break-all;margin:4px 0}
    .figures{display:flex;flex-wrap:wrap;gap:18px 26px;align-items:flex-start}
    figure{margin:0;break-inside:avoid;page-break-inside:avoid}
    figcaption{font-size:.9rem;margin-top:4px;max-width:560px}
    svg{max-width:100%;height:auto;overflow:visible}
    svg text{font-size:11px;fill:var(--ink)}
    svg .chart-title{font-size:13px;font-weight:600}
    svg .tick{fill:var(--muted);font-size:10px}
    svg .axis-label{fill:var(--muted);font-size:11px}
    svg line.grid{stroke:#e9edf1;stroke-width:1}
    svg .frame{fill:none;stroke:#9aa5b1;stroke-width:1}
    svg polyline.series{fill:none;stroke-width:2;stroke-linejoin:round}
    svg .best-marker{stroke:#b3261e;stroke-width:1.5;stroke-dasharray:4 3}
    svg .best-label{fill:#b3261e;font-size:10px;font-weight:600}
    svg .diagonal{stroke:#9aa5b1;stroke-dasharray:3 3}
    svg circle.unit{fill-opacity:.65}
    svg text.token{font-size:11px}
    .pair{font-size:.92rem;margin:2px 0}
    .pair .label{color:var(--muted);font-weight:600;display:inline-block;min-width:88px}
    .activation-text{font-family:"DejaVu Sans Mono","Noto Sans Mono CJK KR","Noto Sans Mono",Menlo,Consolas,monospace;
    font-size:13px;line-height:1.9;white-space:pre-wrap;word-break:break-all;border:1px solid var(--line);padding:8px 10px;
    max-height:260px;overflow:auto;background:#fff}
    .activation-text span.on{box-shadow:inset 0 -2px 0 #1d232b}
    .colour-bar{display:flex;align-items:center;gap:0;font-size:.8rem;color:var(--muted);margin:4px 0 2px}
    .colour-bar i{display:inline-block;width:12px;height:12px}
    .colour-bar span{margin:0 6px}
    .finding{margin:16px 0 18px}
    .finding .stats{font-size:.9rem;color:var(--muted)}
    table.decoding td.label{color:var(--muted);white-space:nowrap}
    table.decoding td.score{font-variant-numeric:tabular-nums;white-space:nowrap}
    table.decoding tr.first td{border-top:2px solid var(--line)}
    table.decoding .sample{white-space:pre-wrap;font-family:"DejaVu Sans Mono","Noto Sans Mono CJK KR","Noto Sans Mono",Menlo,Consolas,monospace;font-size:13px}
    .muted{color:var(--muted)}
    @media (max-width:700px){body{padding:12px}}
    @media print{
    html{font-size:10.5pt}
    body{max-width:none;padding:0}
    nav{display:none}
    *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
    h2{break-after:avoid;page-break-after:avoid}
    .activation-text{max-height:none;overflow:visible}
    section{break-inside:auto}
    }
    """
}
