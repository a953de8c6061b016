export default function Home() {
  return <main>tRPC M2M</main>;
}
