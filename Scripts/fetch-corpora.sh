#!/usr/bin/env bash
# Download public Korean–English parallel corpora and convert them to the
# project's format: one pair per line, `english<TAB>korean`, UTF-8, LF endings.
#
# The downloaded data is NOT part of this repository and keeps its own license.
# A LICENSE file is written next to every corpus. Read it before you
# redistribute the data or models trained on it.
set -euo pipefail

TATOEBA_URL="https://www.manythings.org/anki/kor-eng.zip"
NEWS_BASE_URL="https://raw.githubusercontent.com/jungyeul/korean-parallel-corpora/master/korean-english-news-v1"
NEWS_SPLITS=(train dev test)

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="$script_dir/../Corpora/external"
want_tatoeba=0
want_news=0
force=0

usage() {
    cat <<USAGE
Usage: $(basename "$0") [options]

Downloads public Korean–English corpora (internet access required) and converts
them to english<TAB>korean TSV files that seq2seq can train on.

Corpora:
  --tatoeba        Tatoeba kor-eng sentence pairs from manythings.org
                   (default when no corpus is named). License: CC BY 2.0 FR.
  --news           Korean Parallel Corpora, korean-english-news-v1
                   (train/dev/test). License: CC BY-NC-ND 3.0 US,
                   non-commercial and no derivatives. Download it only if
                   those terms fit your use.
  --all            Both of the above.

Options:
  --dir DIR        Output folder (default: Corpora/external/ in this
                   repository). Keep it out of version control.
  --force          Download again even if the archive is already in DIR.
                   Without it, archives already there are reused, so you can
                   also put a manually downloaded archive into DIR.
  -h, --help       Show this help and exit.

Output (in DIR):
  tatoeba-kor-eng/kor-eng.tsv              english<TAB>korean
  tatoeba-kor-eng/kor-eng.attribution.tsv  attribution column, line by line
  tatoeba-kor-eng/LICENSE
  korean-english-news-v1/news.{train,dev,test}.tsv
  korean-english-news-v1/LICENSE

Every .tsv has English in column 1 and Korean in column 2. For
Korean→English, use: seq2seq train --reverse
USAGE
}

die() { printf 'fetch-corpora: error: %s\n' "$*" >&2; exit 1; }
note() { printf 'fetch-corpora: %s\n' "$*" >&2; }

while (($#)); do
    case "$1" in
        --tatoeba) want_tatoeba=1 ;;
        --news) want_news=1 ;;
        --all) want_tatoeba=1; want_news=1 ;;
        --dir)
            (($# >= 2)) || die "--dir needs a folder argument"
            [[ -n "$2" ]] || die "--dir needs a non-empty folder argument"
            out_dir="$2"; shift ;;
        --dir=*)
            out_dir="${1#--dir=}"
            [[ -n "$out_dir" ]] || die "--dir needs a non-empty folder argument" ;;
        --force) force=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
if ((want_tatoeba == 0 && want_news == 0)); then
    want_tatoeba=1
fi

# Pick a downloader.
downloader=""
if command -v curl >/dev/null 2>&1; then
    downloader=curl
elif command -v wget >/dev/null 2>&1; then
    downloader=wget
fi

# download URL DEST: fetch into DEST (atomically), unless it exists and --force is off.
download() {
    local url="$1" dest="$2"
    if [[ -s "$dest" && $force -eq 0 ]]; then
        note "using existing $(basename "$dest") (pass --force to download again)"
        return 0
    fi
    [[ -n "$downloader" ]] || die "neither curl nor wget is installed; install one, or download $url yourself and put it at $dest"
    note "downloading $url"
    local tmp="$dest.part"
    rm -f "$tmp"
    if [[ $downloader == curl ]]; then
        # manythings.org rejects requests without a browser-like User-Agent.
        curl --fail --location --silent --show-error --retry 3 --connect-timeout 20 \
             --user-agent "Mozilla/5.0 (seq2seq-ko-en fetch-corpora)" \
             --output "$tmp" "$url" \
            || { rm -f "$tmp"; die "download failed: $url (no internet access? proxy?)"; }
    else
        wget --quiet --tries=3 --timeout=20 \
             --user-agent="Mozilla/5.0 (seq2seq-ko-en fetch-corpora)" \
             --output-document="$tmp" "$url" \
            || { rm -f "$tmp"; die "download failed: $url (no internet access? proxy?)"; }
    fi
    [[ -s "$tmp" ]] || { rm -f "$tmp"; die "download of $url produced an empty file"; }
    mv -f "$tmp" "$dest"
}

# to_pairs IN OUT: keep columns 1 and 2 of a TSV, drop CRs and lines with an empty side.
to_pairs() {
    tr -d '\r' <"$1" | awk -F'\t' 'NF >= 2 && $1 ~ /[^[:space:]]/ && $2 ~ /[^[:space:]]/ { print $1 "\t" $2 }' >"$2"
}

fetch_tatoeba() {
    local dir="$out_dir/tatoeba-kor-eng"
    mkdir -p "$dir"
    cat <<'LICENSE' | tee "$dir/LICENSE" >&2
Tatoeba kor-eng (https://www.manythings.org/anki/kor-eng.zip)
License: Creative Commons Attribution 2.0 France (CC BY 2.0 FR)
         https://creativecommons.org/licenses/by/2.0/fr/
Attribution: sentences from the Tatoeba Project (https://tatoeba.org),
         pairs collected by manythings.org (https://www.manythings.org/anki/).
         The attribution of each pair (sentence ids and contributors) is in
         kor-eng.attribution.tsv, in the same line order as kor-eng.tsv.
         Credit Tatoeba.org and manythings.org when you redistribute this data.
This data is not part of the seq2seq-ko-en repository.
LICENSE
    local zip="$dir/kor-eng.zip"
    download "$TATOEBA_URL" "$zip"

    local work="$tmp_root/tatoeba"
    rm -rf "$work"; mkdir -p "$work"
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$zip" -d "$work" || die "cannot unpack $zip (corrupt download? try --force)"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -m zipfile -e "$zip" "$work" || die "cannot unpack $zip (corrupt download? try --force)"
    else
        die "need unzip or python3 to unpack $zip"
    fi
    local txt="$work/kor.txt"
    [[ -f "$txt" ]] || die "kor.txt not found in $zip"
    if [[ -f "$work/_about.txt" ]]; then cp "$work/_about.txt" "$dir/_about.txt"; fi

    rm -f "$dir/kor-eng.tsv.tmp" "$dir/kor-eng.attribution.tsv.tmp"
    # kor.txt: english<TAB>korean<TAB>attribution
    tr -d '\r' <"$txt" | awk -F'\t' -v pairs="$dir/kor-eng.tsv.tmp" -v attr="$dir/kor-eng.attribution.tsv.tmp" '
        NF >= 2 && $1 ~ /[^[:space:]]/ && $2 ~ /[^[:space:]]/ {
            print $1 "\t" $2 > pairs
            print (NF >= 3 ? $3 : "") > attr
        }'
    [[ -s "$dir/kor-eng.tsv.tmp" ]] || die "no sentence pairs found in $txt"
    mv -f "$dir/kor-eng.tsv.tmp" "$dir/kor-eng.tsv"
    mv -f "$dir/kor-eng.attribution.tsv.tmp" "$dir/kor-eng.attribution.tsv"
    note "wrote $(wc -l <"$dir/kor-eng.tsv" | tr -d ' ') pairs to $dir/kor-eng.tsv"
}

fetch_news() {
    local dir="$out_dir/korean-english-news-v1"
    mkdir -p "$dir"
    cat <<'LICENSE' | tee "$dir/LICENSE" >&2
Korean Parallel Corpora: korean-english-news-v1
Source: https://github.com/jungyeul/korean-parallel-corpora
License: the upstream README states "Creative Commons Attribution Noncommercial
         No-Derivative-Works 3.0 US License" (CC BY-NC-ND 3.0 US,
         https://creativecommons.org/licenses/by-nc-nd/3.0/us/).
         Some mirrors label the corpus CC BY-SA 3.0; follow the upstream
         statement. Non-commercial use only. Do not redistribute modified
         copies (the TSV files made here count as modified copies).
Citation: Jungyeul Park, Jeen-Pyo Hong and Jeong-Won Cha (2016). Korean
         Language Resources for Everyone. PACLIC 30, Seoul, Korea.
         https://www.aclweb.org/anthology/Y16-2002/
This data is not part of the seq2seq-ko-en repository.
LICENSE
    command -v tar >/dev/null 2>&1 || die "need tar to unpack the news archives"
    local split
    for split in "${NEWS_SPLITS[@]}"; do
        local name="korean-english-park.$split"
        local archive="$dir/$name.tar.gz"
        download "$NEWS_BASE_URL/$name.tar.gz" "$archive"

        local work="$tmp_root/news-$split"
        rm -rf "$work"; mkdir -p "$work"
        tar -xzf "$archive" -C "$work" || { die "cannot unpack $archive (corrupt download? try --force)"; }
        local en ko
        en="$(find "$work" -type f -name "$name.en" | head -n 1)"
        ko="$(find "$work" -type f -name "$name.ko" | head -n 1)"
        if [[ -z "$en" || -z "$ko" ]]; then
            die "$name.en / $name.ko not found in $archive"
        fi
        local n_en n_ko
        n_en="$(tr -d '\r' <"$en" | wc -l | tr -d ' ')"
        n_ko="$(tr -d '\r' <"$ko" | wc -l | tr -d ' ')"
        if [[ "$n_en" != "$n_ko" ]]; then
            die "$name: $n_en English lines but $n_ko Korean lines"
        fi
        # Tabs inside a sentence would add columns, so turn them into spaces first.
        paste <(tr -d '\r' <"$en" | tr '\t' ' ') <(tr -d '\r' <"$ko" | tr '\t' ' ') >"$work/pairs.tsv"
        to_pairs "$work/pairs.tsv" "$dir/news.$split.tsv"
        rm -rf "$work"
        note "wrote $(wc -l <"$dir/news.$split.tsv" | tr -d ' ') pairs to $dir/news.$split.tsv"
    done
}

mkdir -p "$out_dir" || die "cannot create $out_dir"
out_dir="$(cd "$out_dir" && pwd)"
tmp_root="$(mktemp -d)"
trap 'rm -rf "$tmp_root"' EXIT
note "output folder: $out_dir"
if ((want_tatoeba)); then fetch_tatoeba; fi
if ((want_news)); then fetch_news; fi
note "done. Every .tsv is english<TAB>korean; use 'seq2seq train --reverse' for Korean→English."
