"""Cue lexicons (English and Italian) used as a dozen extra dense features.

Each cue group gives one feature: ``log(1 + number of its cue words/bigrams in the normalised
mention)``.  English and Italian cues of a group feed the *same* feature, so what the model
learns about "refund" on English tweets also applies to "rimborso" in an Italian review, and
what it learns about "shares fell" in SemEval headlines applies to a Financial-PhraseBank
sentence it has never seen.  The groups pool evidence across sources and languages: that is
why they generalise better than individual n-grams (see docs/classifier.md, LOSO table).

Ten groups point at a department; two describe *who is talking* (first person = an author
with their own case or job; second person = addressing the company), which separates
complaints and employee posts from news written in the third person.

Entries (comma-separated) are unigrams or bigrams, written in normalised form (lower-case,
no accents, digits as ``0``; :func:`routing_models.normalize.normalize` is applied to them
anyway).  Keep entries specific: a word common in every department only adds noise.  The
lists were written from the label guide and general domain knowledge, not from the dev sets.
"""

from __future__ import annotations

__all__ = ["CUE_GROUPS", "GROUP_DEPARTMENT", "DEPARTMENTS", "LEXICON"]

DEPARTMENTS: tuple[str, ...] = ("customer_care", "hr", "marketing", "pr")

_GROUPS: dict[str, tuple[str | None, str]] = {
    "care_problem": (
        "customer_care",
        """
        broken, not working, not work, stopped working, doesnt work, does not, did not, never arrived,
        not arrived, still not, crash, crashes, crashed, crashing, error, errors, glitch, bug, bugs,
        freezes, frozen, stuck, keeps, fails, failed, failing, outage, down again, no signal,
        no internet, no service, missing, lost, damaged, defective, faulty, delayed, late again,
        cancelled, canceled, overcharged, double charged, charged twice, declined, locked out,
        blocked, suspended, wrong item, wrong size, disconnected, dropped, drained, dead,
        unable, can not, cannot, wont, problem, problems, issue, issues,
        non funziona, non va, non riesco, non mi, mai ricevuto, non arriva, 
        mai arrivato, non consegnato, smesso di, rotto, rotta, guasto, guasta, difettoso, difettosa,
        errore, si blocca, bloccato, bloccata, crasha, si chiude, non carica, non si, disservizio,
        ritardo, in ritardo, mancante, sbagliato, sbagliata, addebitato due, doppio addebito,
        problema, problemi, nessuna risposta, nessuno risponde, ancora niente, impossibile
        """,
    ),
    "care_request": (
        "customer_care",
        """
        help, help me, please help, need help, please fix, fix this, fix it, how do, how can,
        can you, could you, why is, why does, dm, dm me, dmed, sent you, reply, respond,
        still waiting, waiting for, no reply, no response, no answer, on hold, call back,
        ticket, case number, reference number, complaint, escalate, support, customer service,
        customer support, contact you, reach you, any update, update me, sort this, resolve,
        aiuto, aiutatemi, potete, potreste, come faccio, come posso, come si, perche non,
        rispondete, rispondere, attendo, sto aspettando, aspetto da, in attesa, sollecito,
        segnalazione, reclamo, assistenza, servizio clienti, assistenza clienti, numero verde,
        operatore, contattarvi, chiamato, ho chiamato, ho scritto, ho chiesto, ho fatto,
        risolvere, risolto, for fixing, the help
        """,
    ),
    "care_account": (
        "customer_care",
        """
        my order, order, orders, order number, tracking, tracking number, delivery, delivered,
        parcel, package, shipment, shipped, courier, my account, account, log in, login, logged,
        password, verification, bill, billing, my bill, invoice, payment, charged, charge,
        refund, refunds, refunded, reimbursement, subscription, my subscription, renewal,
        cancel, cancellation, unsubscribe, warranty, return, replacement, repair, exchange,
        my card, my phone, my device, my app, booking, reservation, flight, luggage, baggage,
        voucher, compensation, rebook, appointment, meter, contract,
        mio ordine, ordine, numero ordine, consegna, consegnato, pacco, spedizione, spedito,
        corriere, tracciamento, mio account, accesso, accedere, credenziali, spid, password,
        bolletta, bollette, fattura, fatture, pagamento, pagamenti, addebito, addebiti,
        rimborso, rimborsi, rimborsare, abbonamento, rinnovo, disdetta, disdire, annullare,
        recesso, garanzia, reso, sostituzione, riparazione, prenotazione, volo, bagaglio,
        appuntamento, contatore, voltura, allaccio, utenza, lettura, pratica, mia domanda,
        mia pratica, pensione, indennita, bonus, isee, naspi, cedolino, estratto conto
        """,
    ),
    "hr_job": (
        "hr",
        """
        job, jobs, hiring, hire, hired, career, careers, apply, applied, applying, application,
        applications, applicant, candidate, candidates, interview, interviews, interviewed,
        interviewing, recruiter, recruiters, recruiting, recruitment, resume, cv, cover letter,
        position, positions, vacancy, vacancies, opening, openings, role, roles, internship,
        internships, intern, job offer, offer letter, full time, part time, remote, onsite,
         are hiring, join our, looking for, apply now, job search,
        unemployed, job hunting, new job, first job, my job, the job, rejected, rejection,
        senior, junior, engineer, developer, experience, skills, qualifications, requirements,
        assunzione, assunzioni, assumere, assume, assunto, assunta, candidatura, candidature,
        candidarsi, candidato, candidati, colloquio, colloqui, selezione, selezioni, concorso,
        concorsi, bando, graduatoria, tirocinio, tirocini, stage, stagista, offerta di,
        offerte di, posizione, ricerchiamo, cerchiamo, cercasi, requisiti, esperienza,
        curriculum, risorsa, risorse, figura, inserimento, si occupera, sede di, ral,
        tempo pieno, tempo indeterminato, tempo determinato, full time, part time,
        sviluppatore, posto di, cerco lavoro, nuovo lavoro, primo lavoro, preselezione,
        orali, prova scritta, idonei, vincitori, mansione, mansioni
        """,
    ),
    "hr_workplace": (
        "hr",
        """
        manager, managers, my manager, my boss, boss, supervisor, coworker, coworkers, co-workers,
        colleagues, colleague, team lead, salary, salaries, pay, paid, underpaid, raise, pay raise,
        promotion, promoted, benefits, pto, vacation days, sick days, shift, shifts, overtime,
        workload, work life, life balance, culture, management, employer, employees, my employer,
        onboarding, training, fired, quit, quitting, resign, resigned, resignation, severance,
        notice period, weeks notice, layoff, laid off, hours, schedule, workplace, office,
        hr, human resources, pros, cons, great place, place to, to work, toxic, micromanagement,
        career growth, growth opportunities, from home, wfh, performance review, bonus,
        capo, mio capo, responsabile, colleghi, collega, stipendio, stipendi, busta paga,
        retribuzione, aumento, promozione, ferie, permessi, malattia, turni, turno, straordinari,
        carico di, datore di, ambiente di, welfare, smart working, licenziato, licenziata,
        licenziamento, dimissioni, dimettermi, preavviso, tfr, liquidazione, contratto di,
        crescita professionale, carriera, formazione, azienda seria, pro, contro, dipendente,
        dipendenti, orario, orari, ufficio, sottopagato, sottopagati, precari, precario
        """,
    ),
    "mkt_opinion": (
        "marketing",
        """
        love, loving, loved, lovely, amazing, awesome, great, best, favorite, favourite, cool,
        beautiful, excellent, fantastic, perfect, wonderful, brilliant, impressed, recommend,
        recommended, highly recommend, worth it, worst, terrible, awful, horrible, disappointed,
        disappointing, overrated, sucks, meh, boring, ugly, quality, design, looks, gorgeous,
        delicious, tasty, yummy, friendly, atmosphere, vibe, stars, five stars, fan, fans,
        obsessed, cant wait, excited, wish, should add, please add, feature,
        features, better, hate, hated, like it, like the, nice, sleek, beats, fail, epic,
        adoro, amo, bellissimo, bellissima, bello, bella, fantastico, fantastica, ottimo,
        ottima, perfetto, perfetta, stupendo, meraviglioso, consiglio, consigliato, consigliata,
        consigliatissimo, top, pessimo, pessima, deludente, delusione, delusa, deluso, schifo,
        buonissimo, buonissima, buono, buona, qualita, gentilissimi, gentile, cordiale,
        soddisfatto, soddisfatta, migliore, peggiore, carino, carina, comodo, comoda,
        funzionale, sarebbe utile, aggiungere, vorrei che, peccato, stelle, cinque stelle
        """,
    ),
    "mkt_commerce": (
        "marketing",
        """
        price, prices, pricing, cheap, cheaper, expensive, overpriced, affordable, discount,
        discounts, sale, sales event, promo, promotion, coupon, code, offer, offers, deal, deals,
        launch, launched, launching, new, release, released, available, in stock, 
        buy, buying, bought, purchase, purchased, preorder, pre order, order one, want one,
        store, shop, opening, grand opening, collection, edition, limited edition, contest,
        giveaway, win, sponsor, sponsored, sponsorship, partnership, collab, collaboration,
        influencer, creator, campaign, commercial, ad, ads, advert, brand, brands, vs,
        better than, compared to, switch to, switched, upgrade, model, unboxing, review,
        prezzo, prezzi, costa, costo, economico, caro, conveniente, sconto, sconti, saldi,
        offerta, offerte, promozione, promo, codice sconto, coupon, lancio, novita, nuovo,
        nuova, disponibile, comprare, acquistare, acquistato, comprato, acquisto, preso,
        negozio, punto vendita, apertura, inaugurazione, collezione, vinci, in palio,
        concorso fotografico, giveaway, sponsorizzazione, collaborazione, influencer, campagna,
        spot, pubblicita, marchio, meglio di, rispetto a, qualita prezzo, rapporto qualita,
        modello, recensione, menu, ristorante, cena, pranzo, hotel, camera, soggiorno
        """,
    ),
    "pr_finance": (
        "pr",
        """
        shares, share price, stock, stocks, shareholders, shareholder, investors, investor,
        earnings, revenue, revenues, sales rose, sales fell, profit, profits, net loss, loss,
        losses, quarter, quarterly, results, guidance, forecast, outlook, dividend, buyback,
        market, markets, market share, market cap, billion, million, bn, mln, percent, pct,
        ipo, stake, valuation, analyst, analysts, rating, downgrade, upgrade, wall street,
        nasdaq, nyse, ftse, dow, shares rose, shares fell, rose, fell, jumped, slumped, plunged,
        surged, tumbled, climbed, gains, gained, operating, margin, margins, ebitda, debt, bond,
        azioni, azionisti, titolo, titoli, borsa, piazza affari, investitori, utile, utili,
        ricavi, fatturato, perdita, perdite, trimestre, semestre, bilancio, dividendo, mercato,
        mercati, miliardi, milioni, quota, capitalizzazione, analisti, rialzo, ribasso, crolla,
        vola, cresce, crescita, calo, debito, margine, conti, risultati, ftse mib, spread, consob
        """,
    ),
    "pr_corporate": (
        "pr",
        """
        ceo, cfo, coo, chairman, chief executive, executive, executives, board, board of,
        president, founder, acquisition, acquire, acquires, acquired, merger, merge, takeover,
        buys, sells, sold, spin off, lawsuit, sues, sued, suit, court, judge, ruling, settlement,
        fine, fined, penalty, regulator, regulators, regulatory, antitrust, probe, investigation,
        investigated, inquiry, sec, ftc, doj, european commission, eu, government, scandal, fraud,
        bribery, corruption, boycott, petition, allegations, accused, layoffs, job cuts,
        cut jobs, cuts jobs, restructuring, strike, strikes, union, unions, workers, recall,
        patent, patents, data breach, privacy, sustainability, esg, emissions, carbon, climate,
        csr, award, awards, partnership agreement, agreement, deal, plant, factory, closure,
        amministratore delegato, presidente, cda, consiglio di, di amministrazione, vertice,
        acquisizione, acquisisce, fusione, opa, cessione, cede, causa, tribunale, sentenza,
        ricorso, multa, multata, sanzione, sanzioni, antitrust, garante, indagine, inchiesta,
        procura, indagati, scandalo, frode, truffa, boicottaggio, petizione, licenziamenti,
        esuberi, cassa integrazione, sciopero, sindacati, sindacato, lavoratori, stabilimento,
        chiusura, sostenibilita, emissioni, premio, premiato, accordo, protocollo, intesa,
        convenzione, governo, ministro, ministero, ministra, regione, parlamento, decreto
        """,
    ),
    "pr_news": (
        "pr",
        """
        announced, announces, announce, said, says, according to, report, reports, reported,
        reuters, bloomberg, press, journalist, journalists, reporter, reporters, media, interview,
        statement, spokesperson, spokesman, comment, comments, breaking, news, headline,
        confirmed, unveiled, unveils, plans to, expected to, percent, annual,
        launches, today, on monday, on tuesday, on wednesday, on thursday, on friday, week,
        source, sources, officials, official, public, viral, going viral, outrage, backlash,
        annuncia, annunciato, ha annunciato, ha detto, secondo, rapporto, dati, comunicato,
        comunicato stampa, giornalista, giornalisti, intervista, dichiarazioni, dichiara,
        presentato, presentata, presenta, evento, convegno, webinar, conferenza, conferenza stampa,
        oggi, annuale, nazionale, pubblicato, pubblica, firmato, firmata, diffuso, studio,
        report, iniziativa, progetto, polemica, polemiche, bufera, notizia, notizie
        """,
    ),
    "first_person": (
        None,
        """
        my, me, mine, myself, i have, i am, i was, i need, i want, i got, i just, i can, i m,
        i ve, i had, i did, i tried, i paid, i ordered, i called, i applied, i work, i worked,
        i love, i hate, i think, i bought,
        mio, mia, miei, mie, ho, ho fatto, ho chiesto, ho ricevuto, ho pagato, ho comprato,
        ho ordinato, sono stato, sono stata, mi hanno, mi e, mi sono, io, lavoro da, lavoro come
        """,
    ),
    "second_person": (
        None,
        """
        you, your, yours, you guys, u, ur, thank you, thanks, vostro, vostra, vostri, vostre,
        voi, vi, potete, dovete, siete, avete, grazie, ciao, buongiorno, salve, gentili
        """,
    ),
}


def _phrases(block: str) -> list[str]:
    """Comma-separated cue phrases (unigrams or bigrams) of one block, in file order, de-duplicated."""
    seen: dict[str, None] = {}
    for p in block.replace("\n", " ").split(","):
        p = " ".join(p.split())
        if p:
            seen.setdefault(p, None)
    return list(seen)


#: group name → cue phrases (unigrams/bigrams), in feature order.
CUE_GROUPS: dict[str, list[str]] = {name: _phrases(block) for name, (_, block) in _GROUPS.items()}
#: group name → the department it points at (``None`` for the two style groups).
GROUP_DEPARTMENT: dict[str, str | None] = {name: dept for name, (dept, _) in _GROUPS.items()}
#: department → all cue phrases of its groups (for inspection and the fake classifier).
LEXICON: dict[str, list[str]] = {
    dept: [p for name, phrases in CUE_GROUPS.items() if GROUP_DEPARTMENT[name] == dept for p in phrases]
    for dept in DEPARTMENTS
}
