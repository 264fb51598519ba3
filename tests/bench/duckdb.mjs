// The DuckDB peer over an NDJSON file of orders: with no second argument
// the same query as winagg's default (tumbling 60 s windows, count and
// sum(count) per shopid and region); with "session" [GAP_MS] the
// sessionization of winagg --session (gaps and islands: a new session where
// an order of a shop and region comes more than the gap, default 30 s, after
// the one before it).
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const gap = Number(process.argv[4] || 30000); // ms
const src = `read_json('${process.argv[2]}', format='newline_delimited',
      columns={orderid:'VARCHAR', itemid:'BIGINT', shopid:'BIGINT', region:'VARCHAR', count:'BIGINT', ts:'VARCHAR'})`;
const windows = `
  select count(*) from (
    select time_bucket(interval 60 second, ts::timestamp) as w, shopid, region,
           count(*) as orders, sum(count) as items
    from ${src}
    group by all)`;
const sessions = `
  with o as (select shopid, region, count, ts::timestamp as t from ${src}),
  b as (select *, case when t - lag(t) over (partition by shopid, region order by t)
                       > interval (${gap}) millisecond then 1 else 0 end as brk from o),
  s as (select *, sum(brk) over (partition by shopid, region order by t
                                 rows unbounded preceding) as sid from b)
  select count(*) from (
    select shopid, region, sid, min(t) as session_start, max(t) + interval (${gap}) millisecond as session_end,
           count(*) as orders, sum(count) as items
    from s group by shopid, region, sid)`;
// "groups FIELD,...": tumbling 60 s windows by other group fields;
// "sliding W_S S_S": windows of W_S seconds every S_S (each row in W_S/S_S).
const groups = `
  select count(*) from (
    select time_bucket(interval 60 second, ts::timestamp) as w, ${process.argv[4] || 'shopid'},
           count(*) as orders, sum(count) as items
    from ${src}
    group by all)`;
const W = Number(process.argv[4] || 600) * 1000, S = Number(process.argv[5] || 10) * 1000;
const sliding = `
  select count(*) from (
    select ws, shopid, region, count(*) as orders, sum(count) as items from (
      select shopid, region, count,
             unnest(range((epoch_ms(ts::timestamp) // ${S}) * ${S} - ${W} + ${S},
                          (epoch_ms(ts::timestamp) // ${S}) * ${S} + ${S}, ${S})) as ws
      from ${src})
    group by all)`;
const q = { session: sessions, groups, sliding }[process.argv[3]] || windows;
const r = await c.runAndReadAll(q);
console.log(String(r.getRows()[0][0]));
