//! `os.time` and `os.date`, the only `os` functions Argo CD exposes to Lua scripts (`oslib_safe.go`).
//! Times are UTC.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use mlua::{Lua, Table, Value as LuaValue};

/// `os.time([t])`: now, or the table `{year, month, day, hour=12, min=0, sec=0}` as seconds since the epoch.
pub(crate) fn os_time(_lua: &Lua, table: Option<Table>) -> mlua::Result<i64> {
    let Some(t) = table else {
        return Ok(Utc::now().timestamp());
    };
    let field = |name: &str, default: i64| -> mlua::Result<i64> {
        match t.raw_get::<LuaValue>(name)? {
            LuaValue::Integer(i) => Ok(i),
            LuaValue::Number(n) => Ok(n as i64),
            _ => Ok(default),
        }
    };
    let (year, month, day) = (field("year", -1)?, field("month", -1)?, field("day", -1)?);
    let (hour, min, sec) = (field("hour", 12)?, field("min", 0)?, field("sec", 0)?);
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| {
            NaiveDate::from_ymd_opt(y, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
        })
        .ok_or_else(|| {
            mlua::Error::runtime(format!("os.time: invalid date {year}-{month}-{day}"))
        })?;
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .map(|d| Utc.from_utc_datetime(&d).timestamp())
        .unwrap_or_default();
    Ok(midnight + hour * 3600 + min * 60 + sec)
}

/// `os.date([format [, time]])`: `*t` returns a table, otherwise a strftime-formatted string.
pub(crate) fn os_date(
    lua: &Lua,
    (format, time): (Option<String>, Option<i64>),
) -> mlua::Result<LuaValue> {
    let mut format = format.unwrap_or_else(|| "%c".to_string());
    if let Some(rest) = format.strip_prefix('!') {
        format = rest.to_string();
    }
    let when: DateTime<Utc> = match time {
        Some(secs) => Utc
            .timestamp_opt(secs, 0)
            .single()
            .ok_or_else(|| mlua::Error::runtime(format!("os.date: time {secs} is out of range")))?,
        None => Utc::now(),
    };
    if format.starts_with("*t") {
        let t = lua.create_table()?;
        t.raw_set("year", when.year())?;
        t.raw_set("month", when.month())?;
        t.raw_set("day", when.day())?;
        t.raw_set("hour", when.hour())?;
        t.raw_set("min", when.minute())?;
        t.raw_set("sec", when.second())?;
        t.raw_set("wday", when.weekday().number_from_sunday())?;
        t.raw_set("yday", when.ordinal())?;
        t.raw_set("isdst", false)?;
        return Ok(LuaValue::Table(t));
    }
    let mut out = String::new();
    write!(out, "{}", when.format(&format))
        .map_err(|_| mlua::Error::runtime(format!("os.date: invalid format {format:?}")))?;
    Ok(LuaValue::String(lua.create_string(&out)?))
}
