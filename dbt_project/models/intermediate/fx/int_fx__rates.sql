{#- Daily FX rates with the reporting currency's rate beside each one.
    One row per (rate_date, currency). A line in currency C on day d is worth
    round(amount * reporting_units_per_eur / units_per_eur, 2) in the reporting currency
    (docs/zones.md; for EUR reporting, reporting_units_per_eur is 1). -#}
with rates as (select * from {{ ref('stg_reference__fx_rates') }}),

reporting as (
    select rate_date, units_per_eur as reporting_units_per_eur
    from rates
    where currency = '{{ var("reporting_currency") }}'
),

final as (
    select
        rates.rate_date,
        rates.currency,
        rates.units_per_eur,
        '{{ var("reporting_currency") }}' as reporting_currency,
        case when '{{ var("reporting_currency") }}' = 'EUR' then 1.0
            else reporting.reporting_units_per_eur end as reporting_units_per_eur
    from rates
    left join reporting on rates.rate_date = reporting.rate_date
)

select * from final
