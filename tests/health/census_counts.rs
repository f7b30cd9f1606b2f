//! `take_census` on SQLite, PostgreSQL and MySQL/MariaDB: values per key fingerprint
//! (primary, old, one per-user bucket), plaintext, unknown key, malformed and NULL, for a
//! text column, a JSON column (quoted tokens) and a per-user model; keys told apart by HMAC
//! alone (no AES runs); statuses from `timber_keys` when a key is registered there.

use crate::health_support;
use crate::store_support;

use health_support::*;
use serde_json::json;
use store_support::{Kind, TestDb};
use timber::config::ColumnType;
use timber::crypto::{FernetKey, Key, KeyId, wrap_for_column};
use timber::health::{KeyConfig, ScanOptions, take_census};
use timber::value::Value;

const MODELS: &str = r#"
models:
  - name: Note
    table_name: cc_notes
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: body, type: Text, encrypted: true}
      - {name: meta, type: JSON, encrypted: true}
    mixins: [EncryptedFieldMixin]
  - name: Diary
    table_name: cc_diary
    encryption: {enabled: true, per_user: true, fields: [entry]}
    columns:
      - {name: id, type: String(36), primary_key: true}
      - {name: user_id, type: String(36)}
      - {name: entry, type: Text}
    mixins: [EncryptedFieldMixin]
"#;

async fn census_counts_every_kind_of_value(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), MODELS);
    let vars = [
        ("DATABASE_URL", db.url.clone()),
        ("ENCRYPTION_KEY", new_key()),
        ("ENCRYPTION_KEY_OLD", new_key()),
        ("MASTER_ENCRYPTION_KEY", new_key()),
    ];
    let settings = settings(&vars, dir.path());
    let writer = timber::crypto::KeyRing::from_settings(&settings).unwrap();
    let store = db.store().await;
    store.init(&models.models).await.unwrap();
    let (note, diary) = (models.find("Note").unwrap(), models.find("Diary").unwrap());
    let rows: Vec<Vec<(String, Value)>> = (1..=8)
        .map(|n| {
            let body = if n == 8 {
                Value::Null
            } else {
                Value::Text(format!("body {n}"))
            };
            vec![
                ("id".into(), Value::Text(format!("n{n}"))),
                ("body".into(), body),
                ("meta".into(), Value::Json(json!({"n": n}))),
            ]
        })
        .collect();
    store.insert_many(note, &writer, &rows, None).await.unwrap();
    let diary_rows: Vec<Vec<(String, Value)>> = (1..=5)
        .map(|n| {
            vec![
                ("id".into(), Value::Text(format!("d{n}"))),
                ("user_id".into(), Value::Text(format!("owner-{}", n % 2))),
                ("entry".into(), Value::Text(format!("dear diary {n}"))),
            ]
        })
        .collect();
    store
        .insert_many(diary, &writer, &diary_rows, None)
        .await
        .unwrap();

    let old = writer.key(&KeyId::Old(1)).unwrap();
    let primary = writer.key(&KeyId::Primary).unwrap();
    for n in [5, 6] {
        set_stored(
            &store,
            &models,
            "Note",
            &format!("n{n}"),
            "body",
            &old.encrypt(b"old"),
        )
        .await;
    }
    set_stored(&store, &models, "Note", "n7", "body", "written in clear").await;
    let stranger = FernetKey::new(&Key::generate()).encrypt(b"{}");
    set_stored(
        &store,
        &models,
        "Note",
        "n7",
        "meta",
        &wrap_for_column(&stranger, &ColumnType::Json),
    )
    .await;
    let cut = &primary.encrypt(b"{}")[..60];
    set_stored(
        &store,
        &models,
        "Note",
        "n8",
        "meta",
        &wrap_for_column(cut, &ColumnType::Json),
    )
    .await;
    // A per-user row written under the shared primary instead of its owner's key.
    set_stored(
        &store,
        &models,
        "Diary",
        "d5",
        "entry",
        &primary.encrypt(b"misfiled"),
    )
    .await;

    let keys = KeyConfig::from_settings(&settings);
    let fp = |id: KeyId| keys.ring.fingerprint(&id).unwrap().to_string();
    let (fp_primary, fp_old, fp_master) =
        (fp(KeyId::Primary), fp(KeyId::Old(1)), fp(KeyId::Master));
    let all: Vec<_> = models.models.iter().collect();
    let census = take_census(&store, &all, &keys, &ScanOptions::default())
        .await
        .unwrap();
    let j = census.to_json();

    let column = |model: &str, col: &str| {
        j["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["model"] == model && c["column"] == col)
            .unwrap()
            .clone()
    };
    let body = column("Note", "body");
    assert_eq!(
        (
            body["rows"].clone(),
            body["null"].clone(),
            body["plaintext"].clone(),
            body["unknown_key"].clone(),
            body["malformed"].clone()
        ),
        (json!(8), json!(1), json!(1), json!(0), json!(0))
    );
    assert_eq!(
        body["by_key"],
        json!({fp_primary.clone(): 4, fp_old.clone(): 2})
    );
    let meta = column("Note", "meta");
    assert_eq!(meta["table"], "cc_notes");
    assert_eq!(
        (
            meta["null"].clone(),
            meta["unknown_key"].clone(),
            meta["malformed"].clone()
        ),
        (json!(0), json!(1), json!(1))
    );
    assert_eq!(meta["by_key"], json!({fp_primary.clone(): 6}));
    let entry = column("Diary", "entry");
    let per_user = format!("per-user (master {fp_master})");
    assert_eq!(
        entry["by_key"],
        json!({per_user.clone(): 4, fp_primary.clone(): 1})
    );

    let ids: Vec<(String, String, String)> = j["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["id"].as_str().unwrap().into(),
                k["fingerprint"].as_str().unwrap().into(),
                k["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        ids.contains(&("primary".into(), fp_primary.clone(), "active".into())),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("old_1".into(), fp_old.clone(), "decrypt_only".into())),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("user_*".into(), per_user, "active".into())),
        "{ids:?}"
    );
    assert!(
        j["keys"][0]["source"]
            .as_str()
            .unwrap()
            .contains("ENCRYPTION_KEY")
    );

    // No AES ran: the census identified every key by its HMAC alone.
    assert!(
        keys.ring.aes_decryptions().iter().all(|(_, n)| *n == 0),
        "{:?}",
        keys.ring.aes_decryptions()
    );

    // A key registered as retired shows that status.
    exec(&db, &format!(
        "INSERT INTO timber_keys (key_id, fingerprint, status, created_at) VALUES ('old_1', '{fp_old}', 'retired', '2026-01-01 00:00:00')"
    )).await;
    let census = take_census(&store, &[note], &keys, &ScanOptions::default())
        .await
        .unwrap();
    let old_entry = census
        .keys
        .iter()
        .find(|k| k.fingerprint == fp_old)
        .unwrap();
    assert_eq!(old_entry.status, timber::store::KeyStatus::Retired);
    assert_eq!(census.columns.len(), 2, "only the model asked for");
    store.close().await;
    db.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn census_counts_every_kind_of_value_sqlite() {
    census_counts_every_kind_of_value(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn census_counts_every_kind_of_value_postgres() {
    census_counts_every_kind_of_value(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn census_counts_every_kind_of_value_mysql() {
    census_counts_every_kind_of_value(Kind::Mysql).await;
}

/// The census and health read every table through `Store::raw_stream` (issue 17: on a
/// SQLite file one statement on a read-only connection of its own, on a server one
/// streamed statement instead of a round trip per page), and by keyset pages otherwise:
/// both must give the scan the same rows (a whole table in the database's own order, a
/// limited read, like the pages, in key order), odd cells included (NULL, a
/// number where a token belongs, and on SQLite bytes that are not UTF-8 and a BLOB), or
/// one database would be judged differently by its reader. A limit (`--sample`) stops
/// both at the same row.
async fn the_stream_reads_exactly_what_the_page_reader_reads(kind: Kind) {
    let Some(db) = TestDb::new(kind).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), MODELS);
    let store = db.store().await;
    store.init(&models.models).await.unwrap();
    let rows = match kind {
        Kind::Postgres => "INSERT INTO cc_notes (id, body, meta) SELECT 'id-' || lpad(i::text, 5, '0'), \
             'gAAAAAbody' || i, ('\"gAAAAAmeta' || i || '\"')::json FROM generate_series(1, 9000) AS i"
            .to_string(),
        // MariaDB stops a recursive CTE at 1 000 rows: four digits crossed instead.
        Kind::Mysql => {
            let digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                 UNION ALL SELECT 8 UNION ALL SELECT 9)";
            format!(
                "INSERT INTO cc_notes (id, body, meta) SELECT CONCAT('id-', LPAD(i, 5, '0')), \
                 CONCAT('gAAAAAbody', i), CONCAT('\"gAAAAAmeta', i, '\"') FROM \
                 (SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d + 1 AS i \
                 FROM {digit} a, {digit} b, {digit} c, {digit} e) n WHERE i <= 9000"
            )
        }
        Kind::Sqlite => "INSERT INTO cc_notes (id, body, meta) WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9000) \
             SELECT printf('id-%05d', i), 'gAAAAAbody' || i, '\"gAAAAAmeta' || i || '\"' FROM n"
            .to_string(),
    };
    let mut inserts = vec![
        rows,
        "INSERT INTO cc_notes (id, body, meta) VALUES ('odd-1', NULL, '42')".to_string(),
        "INSERT INTO cc_notes (id, body, meta) VALUES ('odd-3', '3.5', NULL)".to_string(),
    ];
    if kind == Kind::Sqlite {
        inserts.push(
            "INSERT INTO cc_notes (id, body, meta) VALUES ('odd-2', CAST(X'C328FF' AS TEXT), X'00FF')"
                .to_string(),
        );
    }
    let total = 9000 + inserts.len() - 1;
    for sql in inserts {
        store_support::exec(kind, &db.url, sql).await;
    }
    let note = models.find("Note").unwrap();
    let columns = ["body", "meta"];
    for limit in [None, Some(1), Some(4096), Some(8999), Some(20_000)] {
        let mut stream = store
            .raw_stream(note, &columns, limit)
            .unwrap()
            .expect("a file or a server is streamed");
        let mut streamed = Vec::new();
        let mut batches = 0;
        while let Some(batch) = stream.next().await {
            streamed.extend(batch.unwrap());
            batches += 1;
        }
        let page_limit = limit.map_or(u32::MAX, |n| n as u32);
        let mut paged = store
            .raw_page(note, &columns, None, page_limit)
            .await
            .unwrap();
        if limit.is_none() {
            // A whole table streams in the database's own order, not by key: the same
            // rows, in another order.
            let by_key = |r: &timber::store::RawRow| r.id.to_json().to_string();
            streamed.sort_by_key(by_key);
            paged.sort_by_key(by_key);
        }
        assert_eq!(streamed, paged, "{kind:?} limit {limit:?}");
        assert_eq!(
            streamed.len(),
            limit.map_or(total, |n| (n as usize).min(total)),
            "{kind:?} limit {limit:?}"
        );
        if limit.is_none() {
            assert!(batches > 1, "a whole table is handed over in batches");
            let odd = streamed
                .iter()
                .find(|r| r.id == Value::Text("odd-1".into()))
                .unwrap();
            assert_eq!(odd.values[0], None, "NULL stays NULL");
            if kind == Kind::Sqlite {
                let odd = streamed
                    .iter()
                    .find(|r| r.id == Value::Text("odd-2".into()))
                    .unwrap();
                assert_eq!(
                    odd.not_text,
                    vec![0, 1],
                    "bytes that are not UTF-8 are not text"
                );
            }
        }
    }
    store.close().await;
    db.drop_all().await;
}

#[tokio::test]
async fn sqlite_the_stream_reads_exactly_what_the_page_reader_reads() {
    the_stream_reads_exactly_what_the_page_reader_reads(Kind::Sqlite).await;
}

#[tokio::test]
async fn postgres_the_stream_reads_exactly_what_the_page_reader_reads() {
    the_stream_reads_exactly_what_the_page_reader_reads(Kind::Postgres).await;
}

#[tokio::test]
async fn mysql_the_stream_reads_exactly_what_the_page_reader_reads() {
    the_stream_reads_exactly_what_the_page_reader_reads(Kind::Mysql).await;
}

/// A SQLite file's reader refills the batches the scan gives back (`Recycler`) instead of
/// allocating new rows. A refilled row must hold exactly the new row: a NULL where the old
/// one had text, no `not_text` mark left over, a short value where a long one was. The odd
/// cells are spread through 30 000 rows (seven batches and more), so they land in refilled
/// rows, and every batch is given back the moment it arrives, as the census does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refilled_batches_read_exactly_what_the_page_reader_reads() {
    let Some(db) = TestDb::new(Kind::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = models(dir.path(), MODELS);
    let store = db.store().await;
    store.init(&models.models).await.unwrap();
    let padding = "x".repeat(300);
    store_support::exec(
        Kind::Sqlite,
        &db.url,
        format!(
            "INSERT INTO cc_notes (id, body, meta) WITH RECURSIVE n(i) AS \
             (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) \
             SELECT printf('id-%05d', i), \
               CASE i % 7 WHEN 0 THEN NULL WHEN 1 THEN CAST(X'C328FF' AS TEXT) WHEN 2 THEN 3.5 \
                 WHEN 3 THEN 'g' ELSE 'gAAAAAbody' || i || substr('{padding}', 1, i % 300) END, \
               CASE i % 5 WHEN 0 THEN X'00FF' WHEN 1 THEN NULL ELSE '\"gAAAAAmeta' || i || '\"' END \
             FROM n"
        ),
    )
    .await;
    let note = models.find("Note").unwrap();
    let columns = ["body", "meta"];
    let mut stream = store
        .raw_stream(note, &columns, None)
        .unwrap()
        .expect("a file is streamed");
    let recycler = stream.recycler();
    let mut streamed = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        streamed.extend(batch.iter().cloned());
        recycler.give_back(batch);
    }
    let mut paged = store
        .raw_page(note, &columns, None, u32::MAX)
        .await
        .unwrap();
    // The stream reads in the table's own order; the rows were inserted in key order, so
    // on this SQLite table the two orders agree (and `row(n)` below is row n).
    let by_key = |r: &timber::store::RawRow| r.id.to_json().to_string();
    paged.sort_by_key(by_key);
    assert_eq!(streamed.len(), 30_000);
    assert_eq!(
        streamed, paged,
        "a refilled row is the row read, nothing of the one before"
    );
    let row = |n: usize| &streamed[n - 1];
    assert_eq!(row(7).values[0], None, "NULL after text stays NULL");
    assert_eq!(
        row(8).not_text,
        vec![0],
        "bytes that are not UTF-8 are not text"
    );
    assert_eq!(row(10).not_text, vec![1]);
    assert_eq!(
        row(11).not_text,
        Vec::<usize>::new(),
        "no mark left from row 10"
    );
    assert_eq!(row(9).values[0].as_deref(), Some("3.5"));
    assert_eq!(
        row(10).values[0].as_deref(),
        Some("g"),
        "a short value after a long one"
    );
    store.close().await;
    db.drop_all().await;
}
