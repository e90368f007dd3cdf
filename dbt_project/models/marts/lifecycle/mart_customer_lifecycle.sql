{#- Lifecycle stage of every customer at the end of every month from the month they became
    known (first_seen_at, or the first purchase if earlier) to the month of the as-of date, and
    the stage of the month before. Stage rules in _lifecycle__models.yml. One row per customer
    and month.
    Incremental (DuckDB; docs/zones.md): a month's row is worked out from the customer's own
    inputs alone (the month first seen, the purchase days, the ticket scores) up to the month's
    end, never from the as-of date itself, which only bounds the calendar (the current month's
    row, too, is the stage at the month's end). Each row keeps the customer's fingerprint of
    those inputs (the sum of their 64-bit hashes and their count). A build works out again
    every month of the customers whose fingerprint differs from the one in their row of the
    last build's last month (new, changed or gone), and the months after that last month for
    every other customer, carried on from its last row's stage. A row outdated (its customer
    gone, a month no longer the customer's or past the calendar) is written as a tombstone (the
    old row, no resolved_at), which delete+insert uses to delete it, and the post-hook deletes
    the tombstones. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['customer_id', 'activity_month'],
    post_hook="{{ delete_tombstones() }}",
) }}
with customers as (select * from {{ ref('dim_customers') }}),
purchase_days as (select * from {{ ref('int_analytics__customer_purchase_days') }}),
tickets as (select * from {{ ref('int_analytics__tickets') }}),
as_of as (select * from {{ ref('int_analytics__as_of_date') }}),

scores as (
    select customer_id, opened_date, satisfaction_score
    from tickets
    where customer_id is not null and satisfaction_score is not null
),

{#- everything a customer's rows are worked out from, one hash per item: the month first seen,
    each purchase day, each ticket score with its date. The items hash with different arities,
    so no item can stand in for another of a different kind. One group-by over the purchase
    days, where the monthly figures below are worked out for the customers rebuilt only -#}
input_hashes as (
    select
        customer_id,
        {{ numeric_hash("'first_seen', cast(" ~ dbt.date_trunc('month', 'first_seen_at') ~ " as date)") }}
            as input_hash
    from customers
    union all
    select customer_id, {{ numeric_hash('purchase_date') }} from purchase_days
    union all
    select customer_id, {{ numeric_hash('opened_date, satisfaction_score') }} from scores
),

fingerprints as (
    select customer_id, sum(input_hash) as input_signature, count(*) as input_count
    from input_hashes
    group by customer_id
),

month_numbers as (
    {{ dbt.generate_series(600) }}
),

bounds as (
    select
        least(
            min(cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date)),
            coalesce((select cast({{ dbt.date_trunc('month', 'min(purchase_date)') }} as date)
                      from purchase_days),
                     min(cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date)))
        ) as first_month,
        max(cast({{ dbt.date_trunc('month', 'as_of.as_of_date') }} as date)) as last_month
    from customers
    cross join as_of
),

-- every month from the first customer to the as-of date (50 years at most), so the
-- 12-month window below can count rows
calendar as (
    select cast({{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }}
        as date) as activity_month
    from month_numbers
    cross join bounds
    where {{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'bounds.first_month') }}
        <= bounds.last_month
),

{% if is_incremental() %}
{#- the last build's last month, and every customer's row of it: each customer's rows run to
    that month (the as-of month of that build). A tombstone left by a build stopped before its
    post-hook stands for a row that had to go: this build's post-hook deletes it. -#}
previous_month as (
    select max(activity_month) as activity_month from {{ this }} where resolved_at is not null
),

previous as (
    select customer_id, input_signature, input_count, lifecycle_stage
    from {{ this }}
    where activity_month = (select activity_month from previous_month)
        and resolved_at is not null
),

current_fingerprints as (
    select fingerprints.*
    from fingerprints
    inner join customers on fingerprints.customer_id = customers.customer_id
),

{#- the customers new, changed or gone since their rows were written: all their months are
    worked out again (or deleted); the others only get the months after the last build's -#}
reworked as (
    select
        coalesce(current_fingerprints.customer_id, previous.customer_id) as customer_id,
        current_fingerprints.customer_id is not null as is_current
    from current_fingerprints
    full outer join previous on current_fingerprints.customer_id = previous.customer_id
    where previous.customer_id is null
        or current_fingerprints.customer_id is null
        or current_fingerprints.input_signature <> previous.input_signature
        or current_fingerprints.input_count <> previous.input_count
),

{#- the others, on a day with months new since the last build -#}
continued as (
    select previous.customer_id, previous.lifecycle_stage as carried_stage
    from previous
    where previous.customer_id not in (select customer_id from reworked)
        and (select activity_month from previous_month) < (select max(activity_month) from calendar)
),

reworked_customers as (
    select customers.*
    from customers
    where customers.customer_id in (select customer_id from reworked where is_current)
),

worked_customers as (
    select customer_id from reworked_customers
    union all
    select customer_id from continued
),
{% endif %}

{#- each month's purchase days and ticket scores (of the customers worked out) -#}
purchase_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'purchase_date') }} as date) as activity_month,
        count(*) as purchase_day_count,
        max(purchase_date) as last_purchase_date
    from purchase_days
    {% if is_incremental() -%}
    where customer_id in (select customer_id from worked_customers)
    {% endif -%}
    group by customer_id, cast({{ dbt.date_trunc('month', 'purchase_date') }} as date)
),

score_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'opened_date') }} as date) as activity_month,
        sum(satisfaction_score) as score_sum,
        count(satisfaction_score) as score_count
    from scores
    {% if is_incremental() -%}
    where customer_id in (select customer_id from worked_customers)
    {% endif -%}
    group by customer_id, cast({{ dbt.date_trunc('month', 'opened_date') }} as date)
),

first_purchase_months as (
    select customer_id, min(activity_month) as first_purchase_month
    from purchase_months
    group by customer_id
),

-- a customer's months start when they were first seen, or bought, whichever came first
customer_months as (
    select customers.customer_id, calendar.activity_month
    from {{ 'reworked_customers' if is_incremental() else 'customers' }} as customers
    left join first_purchase_months on customers.customer_id = first_purchase_months.customer_id
    inner join calendar
        on calendar.activity_month >= least(
            cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date),
            coalesce(first_purchase_months.first_purchase_month,
                     cast({{ dbt.date_trunc('month', 'customers.first_seen_at') }} as date)))
    cross join as_of
    where calendar.activity_month <= as_of.as_of_date
),

filled as (
    select
        customer_months.customer_id,
        customer_months.activity_month,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'customer_months.activity_month')) }}
            as date) as month_end_date,
        coalesce(purchase_months.purchase_day_count, 0) as purchase_day_count,
        purchase_months.last_purchase_date,
        coalesce(score_months.score_sum, 0) as score_sum,
        coalesce(score_months.score_count, 0) as score_count
    from customer_months
    left join purchase_months
        on customer_months.customer_id = purchase_months.customer_id
        and customer_months.activity_month = purchase_months.activity_month
    left join score_months
        on customer_months.customer_id = score_months.customer_id
        and customer_months.activity_month = score_months.activity_month
),

running as (
    select
        customer_id, activity_month, month_end_date,
        sum(purchase_day_count) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as purchase_days_to_date,
        sum(purchase_day_count) over (
            partition by customer_id order by activity_month rows 11 preceding
        ) as purchase_days_12m,
        max(last_purchase_date) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as last_purchase_date,
        sum(score_sum) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as score_sum_to_date,
        sum(score_count) over (
            partition by customer_id order by activity_month rows unbounded preceding
        ) as score_count_to_date,
        cast(null as {{ dbt.type_string() }}) as carried_stage
    from filled
),

{% if is_incremental() %}
{#- the months after the last build's for the customers whose inputs did not change: their
    figures to date from the monthly inputs (no window over the months before), the stage of the
    month before the first of them from the last build's row -#}
continued_months as (
    select
        continued.customer_id,
        calendar.activity_month,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'calendar.activity_month')) }}
            as date) as month_end_date,
        continued.carried_stage
    from continued
    inner join calendar on calendar.activity_month > (select activity_month from previous_month)
),

continued_purchases as (
    select
        continued_months.customer_id,
        continued_months.activity_month,
        sum(purchase_months.purchase_day_count) as purchase_days_to_date,
        sum(case when purchase_months.activity_month
                > {{ dbt.dateadd('month', -12, 'continued_months.activity_month') }}
            then purchase_months.purchase_day_count else 0 end) as purchase_days_12m,
        max(purchase_months.last_purchase_date) as last_purchase_date
    from continued_months
    inner join purchase_months
        on continued_months.customer_id = purchase_months.customer_id
        and purchase_months.activity_month <= continued_months.activity_month
    group by continued_months.customer_id, continued_months.activity_month
),

continued_scores as (
    select
        continued_months.customer_id,
        continued_months.activity_month,
        sum(score_months.score_sum) as score_sum_to_date,
        sum(score_months.score_count) as score_count_to_date
    from continued_months
    inner join score_months
        on continued_months.customer_id = score_months.customer_id
        and score_months.activity_month <= continued_months.activity_month
    group by continued_months.customer_id, continued_months.activity_month
),

continued_running as (
    select
        continued_months.customer_id,
        continued_months.activity_month,
        continued_months.month_end_date,
        coalesce(continued_purchases.purchase_days_to_date, 0) as purchase_days_to_date,
        coalesce(continued_purchases.purchase_days_12m, 0) as purchase_days_12m,
        continued_purchases.last_purchase_date,
        coalesce(continued_scores.score_sum_to_date, 0) as score_sum_to_date,
        coalesce(continued_scores.score_count_to_date, 0) as score_count_to_date,
        continued_months.carried_stage
    from continued_months
    left join continued_purchases
        on continued_months.customer_id = continued_purchases.customer_id
        and continued_months.activity_month = continued_purchases.activity_month
    left join continued_scores
        on continued_months.customer_id = continued_scores.customer_id
        and continued_months.activity_month = continued_scores.activity_month
),

worked_out as (
    select * from running
    union all
    select * from continued_running
),
{% else %}
worked_out as (
    select * from running
),
{% endif %}

staged as (
    select
        *,
        case
            when purchase_days_to_date = 0 then 'prospect'
            when {{ dbt.datediff('last_purchase_date', 'month_end_date', 'day') }}
                > {{ var('churn_inactivity_days') }} then 'lapsed'
            when purchase_days_12m >= {{ var('loyal_min_orders') }}
                and score_count_to_date > 0
                and score_sum_to_date * 1.0 / score_count_to_date >= {{ var('advocate_min_score') }}
                then 'advocate'
            when purchase_days_12m >= {{ var('loyal_min_orders') }} then 'loyal'
            when purchase_days_to_date >= 2 then 'repeat_buyer'
            else 'first_time_buyer'
        end as lifecycle_stage
    from worked_out
),

-- the stage of the month before (a continued customer's first new month: its last row's)
with_previous as (
    select
        *,
        coalesce(
            lag(lifecycle_stage) over (partition by customer_id order by activity_month),
            carried_stage
        ) as previous_stage
    from staged
),

lifecycle as (
    select
        with_previous.customer_id,
        with_previous.activity_month,
        with_previous.lifecycle_stage,
        with_previous.previous_stage,
        coalesce(with_previous.lifecycle_stage <> with_previous.previous_stage, false)
            as is_stage_change,
        cast(with_previous.purchase_days_to_date as {{ dbt.type_bigint() }}) as purchase_days_to_date,
        cast(with_previous.purchase_days_12m as {{ dbt.type_bigint() }}) as purchase_days_12m,
        with_previous.last_purchase_date,
        case when with_previous.score_count_to_date > 0
            then cast(round(with_previous.score_sum_to_date * 1.0 / with_previous.score_count_to_date, 4)
                as double)
        end as average_satisfaction_score,
        fingerprints.input_signature,
        cast(fingerprints.input_count as {{ dbt.type_bigint() }}) as input_count,
        {{ resolved_at() }} as resolved_at
    from with_previous
    inner join fingerprints on with_previous.customer_id = fingerprints.customer_id
),

{% if is_incremental() %}
{#- the rows worked out, and a tombstone (the old row without resolved_at) for each row of a
    customer worked out again or gone that was not, and for each row past the calendar (an
    as-of date moved back). `by name`: incremental builds run on DuckDB only -#}
outdated as (
    select old_rows.* exclude (resolved_at)
    from {{ this }} as old_rows
    where (
        old_rows.customer_id in (select customer_id from reworked)
        or old_rows.activity_month > (select max(activity_month) from calendar)
    )
    and not exists (
        select 1 from lifecycle
        where lifecycle.customer_id = old_rows.customer_id
            and lifecycle.activity_month = old_rows.activity_month
    )
),

final as (
    select * from lifecycle
    union all by name
    select * from outdated
)
{% else %}
final as (
    select * from lifecycle
)
{% endif %}

select * from final
