{#- What the fitted BG/NBD and Gamma-Gamma models expect of each buyer, as of the latest load
    date (docs/customer-analytics.md):
    - probability_alive, P(alive | x, t_x, T) (Fader, Hardie and Lee 2005, eq. 11): 1 without
      repeat purchases, since in BG/NBD a customer can only drop out after a purchase;
    - expected purchase days in the next 12 months (eq. 10), whose Gauss hypergeometric function
      2F1(r + x, b + x; a + b + x - 1; z) is summed as its series over var clv_series_terms terms;
    - the expected value of a purchase day (Gamma-Gamma: p (v + x m) / (p x + q - 1); a one-time
      buyer's first purchase counts as the one observation);
    - the customer lifetime value: purchases expected in each month of var clv_horizon_months,
      discounted at var clv_monthly_discount_rate a month, times the expected purchase value and
      var clv_margin_rate.
    The series depends on x and T only, so it is summed once per (x, T) and horizon month. One
    row per customer with at least one purchase. -#}
{%- set horizon_months = var('clv_horizon_months') %}
{%- set days_per_month = 365.25 / 12 %}
with btyd as (select * from {{ ref('int_analytics__customer_btyd') }}),
bgnbd as (select * from {{ ref('int_analytics__bgnbd_fit') }}),
gamma_gamma as (select * from {{ ref('int_analytics__gamma_gamma_fit') }}),

term_numbers as (
    {{ dbt.generate_series(var('clv_series_terms')) }}
),

month_numbers as (
    {{ dbt.generate_series([horizon_months, 12] | max) }}
),

ages as (
    select distinct frequency as x, age_days as t from btyd
),

{#- ln of the magnitude of the k-th coefficient (r + x)_k (b + x)_k / ((c)_k k!) of the series,
    c = a + b + x - 1, and its sign. A fit with a + b < 1 (one year of this simulator's
    purchases gives one) makes c negative for x = 0: (c)_k = c (c + 1)_(k - 1) is then negative
    for every k >= 1, so it is written that way and ln Γ only ever sees positive numbers. -#}
{%- set c = 'bgnbd.a + bgnbd.b + frequencies.x - 1' %}
coefficients as (
    select
        frequencies.x,
        term_numbers.generated_number - 1 as k,
        case when term_numbers.generated_number > 1 and {{ c }} < 0 then -1 else 1 end
            as coefficient_sign,
        {{ log_gamma('bgnbd.r + frequencies.x + term_numbers.generated_number - 1') }}
            - {{ log_gamma('bgnbd.r + frequencies.x') }}
            + {{ log_gamma('bgnbd.b + frequencies.x + term_numbers.generated_number - 1') }}
            - {{ log_gamma('bgnbd.b + frequencies.x') }}
            - case when term_numbers.generated_number = 1 then 0
                else ln(abs({{ c }})) + {{ log_gamma(c ~ ' + term_numbers.generated_number - 1') }}
                    - {{ log_gamma(c ~ ' + 1') }} end
            - {{ log_gamma('term_numbers.generated_number') }} as ln_coefficient
    from (select distinct x from ages) as frequencies
    cross join term_numbers
    cross join bgnbd
),

horizons as (
    select
        ages.x,
        ages.t,
        month_numbers.generated_number as month_number,
        month_numbers.generated_number * {{ days_per_month }} as horizon_days
    from ages
    cross join month_numbers
),

hypergeometric as (
    select
        horizons.x,
        horizons.t,
        horizons.month_number,
        horizons.horizon_days,
        sum(coefficients.coefficient_sign * exp(coefficients.ln_coefficient
            + coefficients.k * ln(horizons.horizon_days / (bgnbd.alpha + horizons.t + horizons.horizon_days))))
            as series_sum
    from horizons
    inner join coefficients on horizons.x = coefficients.x
    cross join bgnbd
    group by horizons.x, horizons.t, horizons.month_number, horizons.horizon_days
),

{#- eq. 10 without its 1 / P(alive) denominator: purchases expected by a customer still alive -#}
purchases_if_alive as (
    select
        hypergeometric.x,
        hypergeometric.t,
        hypergeometric.month_number,
        (bgnbd.a + bgnbd.b + hypergeometric.x - 1) / (bgnbd.a - 1)
            * (1 - power((bgnbd.alpha + hypergeometric.t)
                         / (bgnbd.alpha + hypergeometric.t + hypergeometric.horizon_days),
                         bgnbd.r + hypergeometric.x)
                   * hypergeometric.series_sum) as expected_purchases
    from hypergeometric
    cross join bgnbd
),

monthly as (
    select
        *,
        expected_purchases - coalesce(lag(expected_purchases) over (
            partition by x, t order by month_number), 0) as purchases_in_month
    from purchases_if_alive
),

per_age as (
    select
        x,
        t,
        max(case when month_number = 12 then expected_purchases end) as purchases_12m_if_alive,
        sum(case when month_number <= {{ horizon_months }}
            then purchases_in_month / power(1 + {{ var('clv_monthly_discount_rate') }}, month_number)
            else 0 end) as discounted_purchases_if_alive
    from monthly
    group by x, t
),

predicted as (
    select
        btyd.customer_id,
        btyd.frequency,
        case when btyd.frequency = 0 then 1.0
            else 1 / (1 + exp(ln(bgnbd.a) - ln(bgnbd.b + btyd.frequency - 1)
                + (bgnbd.r + btyd.frequency)
                    * (ln(bgnbd.alpha + btyd.age_days) - ln(bgnbd.alpha + btyd.recency_days))))
        end as probability_alive,
        per_age.purchases_12m_if_alive,
        per_age.discounted_purchases_if_alive,
        case when btyd.frequency = 0
            then gamma_gamma.p * (gamma_gamma.v + greatest(btyd.first_purchase_amount, 0))
                / (gamma_gamma.p + gamma_gamma.q - 1)
            else gamma_gamma.p * (gamma_gamma.v + btyd.frequency * greatest(btyd.average_repeat_purchase_amount, 0))
                / (gamma_gamma.p * btyd.frequency + gamma_gamma.q - 1)
        end as expected_purchase_amount
    from btyd
    inner join per_age on btyd.frequency = per_age.x and btyd.age_days = per_age.t
    cross join bgnbd
    {#- no fit without repeat buyers: the value and the CLV are then unknown, the buyers stay #}
    left join gamma_gamma on 1 = 1
),

final as (
    select
        customer_id,
        probability_alive,
        probability_alive * purchases_12m_if_alive as expected_purchases_12m,
        expected_purchase_amount,
        probability_alive * discounted_purchases_if_alive * expected_purchase_amount
            * {{ var('clv_margin_rate') }} as clv_amount
    from predicted
)

select * from final
